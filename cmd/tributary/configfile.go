package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// The config file of "tributary serve" (--config, TRIBUTARY_CONFIG) is a
// flat TOML document whose keys are the names of serveOptions' flags:
//
//	listen = "0.0.0.0:4567"
//	sync-interval = "100ms"
//	admin = true
//	shard-limit = 500
//
// A value is turned into the text its flag would be given and set through
// the option's flag.Value, so that every option, those added later
// included, is read from the file with no code of its own, and checked
// exactly as on the command line. Tables are refused: serve is the only
// command with a config file, and one flat namespace keeps a file and the
// flags it mirrors the same.
const configEnv = "TRIBUTARY_CONFIG"

// configFileError is an error about the line of a config file: the form
// "FILE:LINE: message" that editors and terminals jump to.
func configFileError(path string, line int, format string, args ...any) error {
	return fmt.Errorf("config file %s:%d: %s", path, line, fmt.Sprintf(format, args...))
}

// applyConfigFile reads the TOML file at path and sets, through set (a
// flag set's Set), every option of opts it names.
func applyConfigFile(path string, opts []serveOption, set func(name, value string) error) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	return applyConfig(path, b, opts, set)
}

// applyConfig is applyConfigFile on the contents b of the file at path.
func applyConfig(path string, b []byte, opts []serveOption, set func(name, value string) error) error {
	// go-toml's decoder checks the whole document (syntax, keys defined
	// twice, integers in range) and gives the values Go types...
	var values map[string]any
	if err := toml.Unmarshal(b, &values); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, _ := de.Position()
			return configFileError(path, line, "%s", strings.TrimPrefix(de.Error(), "toml: "))
		}
		return fmt.Errorf("config file %s: %w", path, err)
	}
	// ...but a map has no lines, so the document is walked again, one
	// top-level expression at a time, for the line of each key. The order
	// of the file is the order errors are found in.
	var p unstable.Parser
	p.Reset(b)
	for p.NextExpression() {
		e := p.Expression()
		if e.Kind != unstable.KeyValue && e.Kind != unstable.Table && e.Kind != unstable.ArrayTable {
			continue
		}
		var parts []string
		line := 0
		for it := e.Key(); it.Next(); {
			k := it.Node()
			if line == 0 {
				line = p.Shape(k.Raw).Start.Line
			}
			parts = append(parts, string(k.Data))
		}
		key := strings.Join(parts, ".")
		if e.Kind != unstable.KeyValue {
			return configFileError(path, line, "[%s]: tables are not supported; write the options of tributary serve at the top of the file, as key = value", key)
		}
		i := slices.IndexFunc(opts, func(o serveOption) bool { return o.flag == key })
		if len(parts) > 1 || i < 0 {
			return configFileError(path, line, "%s", unknownKeyMessage(key, opts))
		}
		text, err := configText(values[key])
		if err != nil {
			return configFileError(path, line, "%s %v", key, err)
		}
		if err := set(key, text); err != nil {
			return configFileError(path, line, "invalid value %q for %s: %v", text, key, err)
		}
	}
	if err := p.Error(); err != nil {
		// The decoder above accepted the document, so the parser should
		// too; said plainly in case they ever disagree.
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// configText is the text a flag would be given for the TOML value v:
// strings as they are, numbers and booleans as Go writes them. Durations
// and sizes are strings ("100ms", "64MiB"); an integer is accepted
// wherever the flag takes a plain number.
func configText(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(v), nil
	case []any:
		return "", errors.New("must be a string, a number or a boolean, not an array")
	case map[string]any:
		return "", errors.New("must be a string, a number or a boolean, not a table")
	default: // the TOML dates and times
		return "", errors.New("must be a string, a number or a boolean, not a date or time")
	}
}

// unknownKeyMessage says that key is not an option, with the option it
// most likely meant when there is one: the same key spelt as an
// environment variable or with underscores, or one within two typos.
func unknownKeyMessage(key string, opts []serveOption) string {
	msg := fmt.Sprintf("unknown key %q", key)
	norm := strings.ToLower(key)
	norm = strings.TrimPrefix(strings.TrimPrefix(norm, "--"), "tributary_")
	norm = strings.NewReplacer("_", "-", ".", "-").Replace(norm)
	best, bestDist := "", 3 // suggest nothing further than 2 edits away
	for _, o := range opts {
		if d := editDistance(norm, o.flag); d < bestDist {
			best, bestDist = o.flag, d
		}
	}
	if best != "" {
		return msg + fmt.Sprintf("; did you mean %q?", best)
	}
	return msg + "; the keys are the flags of tributary serve --help"
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// writeConfig writes cfg as a config file that --config reads back into
// cfg: every option with its help as a comment, set where it differs
// from the default and commented out at its default otherwise. Generic
// over serveOptions like the reading side: each value is its flag.Value's
// String, which Set accepts back (String of a default need not be: an
// unset file prints "none", which is why defaults are commented out).
func writeConfig(b *strings.Builder, cfg serveConfig) {
	b.WriteString(`# Configuration of tributary serve, printed by tributary serve --print-config.
# Read it with: tributary serve --config FILE. The keys are the flags of
# tributary serve --help; a flag or a TRIBUTARY_* variable overrides the
# file. Options commented out are at their defaults.
`)
	def := defaultServeConfig()
	for _, o := range serveOptions() {
		b.WriteString("\n")
		for _, line := range wrap(o.usage, 74) {
			fmt.Fprintf(b, "# %s\n", line)
		}
		v, d := o.value(&cfg), o.value(&def)
		text := v.String()
		if text == d.String() {
			b.WriteString("# ")
		}
		fmt.Fprintf(b, "%s = %s\n", o.flag, tomlValue(text, d.String(), v))
	}
}

// plainNumber is a number TOML and Go's flags read alike.
var plainNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?$`)

// tomlValue writes text, the value of an option whose default is def, as
// a TOML value: a bare boolean for a boolean flag, a bare number where the
// option's default is a number too, a string otherwise. Numbers are kept
// to options numeric by nature so that, say, an account id stays a
// string.
func tomlValue(text, def string, v flag.Value) string {
	if bf, ok := v.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() && (text == "true" || text == "false") {
		return text
	}
	if plainNumber.MatchString(text) && plainNumber.MatchString(def) {
		return text
	}
	return tomlString(text)
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
