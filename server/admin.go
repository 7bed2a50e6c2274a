package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
	"strings"

	"github.com/tributary-io/tributary/faults"
)

// The admin API lives under adminPrefix, a path no Kinesis request uses
// (they all POST to "/"). It is Tributary's own, speaks plain JSON and is
// not signed. Every route needs Config.AdminToken as a bearer token
// (Authorization: Bearer TOKEN): the fault routes make the server fail
// on purpose, and the stats tell about the process. No route answers a browser's
// cross-origin request (see sameOrigin), and no answer carries CORS
// headers, so a web page can neither call the API nor read its answers.
//
//	GET    /_tributary/faults       {"rules": [rule...]}
//	POST   /_tributary/faults       rule → 201 rule, with its id
//	DELETE /_tributary/faults       clears every rule → 204
//	DELETE /_tributary/faults/{id}  clears one → 204, or 404
//	GET    /_tributary/stats        the process's figures (see Stats)
//	GET    /_tributary/debug/pprof/ Go's profiles (net/http/pprof): CPU
//	                                 (profile?seconds=N), heap, goroutine,
//	                                 allocs, block, mutex, trace
//	POST   /_tributary/cluster/drain {"node": N} → steps as JSON lines
//	POST   /_tributary/cluster/add   (cluster.go; on with ClusterChange,
//	                                 even without Admin)
//
// Errors are {"error": "..."} with 400 for bad input, 404 for unknown
// paths and ids (and for everything when the API is off) and 405 for
// other methods.
//
// Requests on a connection upgraded to HTTP/2 with "Upgrade: h2c" after
// the upgrade bypass ServeHTTP and so never reach the admin API; plain
// HTTP/1.1 and prior-knowledge HTTP/2 clients, like the CLI's, do.
const (
	adminPrefix = "/_tributary/"
	faultsPath  = adminPrefix + "faults"
	statsPath   = adminPrefix + "stats"
	pprofPath   = adminPrefix + "debug/pprof/"
)

// pprofHandler serves net/http/pprof's pages under pprofPath. They find
// the profile's name after "/debug/pprof/", so the admin prefix is taken
// off first.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return http.StripPrefix(strings.TrimSuffix(adminPrefix, "/"), mux)
}

// maxAdminBody bounds an admin request body; a rule is a few hundred
// bytes.
const maxAdminBody = 1 << 20

// serveAdmin answers a request under adminPrefix.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	op := ""
	switch r.URL.Path {
	case ClusterDrainPath:
		op = "drain"
	case ClusterAddPath:
		op = "add"
	}
	switch {
	case op != "" && s.cfg.ClusterChange == nil:
		adminError(w, http.StatusNotFound, "cluster changes are off; start tributary serve with --cluster and --admin-token")
		return
	case op == "" && s.cfg.Admin == nil:
		adminError(w, http.StatusNotFound, "the admin API is off; start tributary serve with --admin")
		return
	}
	if !sameOrigin(r) {
		adminError(w, http.StatusForbidden, "cross-origin requests to the admin API are refused")
		return
	}
	if !s.adminAuthorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tributary-admin"`)
		adminError(w, http.StatusUnauthorized,
			"the admin API needs its token: send Authorization: Bearer TOKEN (tributary faults --admin-token or TRIBUTARY_ADMIN_TOKEN)")
		return
	}
	if op != "" {
		s.serveClusterChange(w, r, op)
		return
	}
	inj := s.cfg.Admin
	switch path := r.URL.Path; {
	case path == faultsPath:
		switch r.Method {
		case http.MethodGet:
			rules := inj.List()
			adminJSON(w, http.StatusOK, struct {
				Rules []faults.Rule `json:"rules"`
			}{rules})
		case http.MethodPost:
			s.addFault(w, r)
		case http.MethodDelete:
			inj.Clear("")
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Allow", "GET, POST, DELETE")
			adminError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s", r.Method, path))
		}
	case strings.HasPrefix(path, faultsPath+"/") && !strings.Contains(path[len(faultsPath)+1:], "/") && len(path) > len(faultsPath)+1:
		id := path[len(faultsPath)+1:]
		if r.Method != http.MethodDelete {
			w.Header().Set("Allow", "DELETE")
			adminError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s", r.Method, path))
			return
		}
		if !inj.Clear(id) {
			adminError(w, http.StatusNotFound, fmt.Sprintf("no fault rule with id %q", id))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case strings.HasPrefix(path, pprofPath):
		pprofHandler().ServeHTTP(w, r)
	case path == statsPath:
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", "GET")
			adminError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s", r.Method, path))
			return
		}
		adminJSON(w, http.StatusOK, s.stats())
	default:
		adminError(w, http.StatusNotFound, fmt.Sprintf("no admin route %s", path))
	}
}

// sameOrigin reports whether r is not a browser's cross-origin request:
// it has no Origin header (command-line clients send none) or one equal
// to the server's own origin, and a browser's Sec-Fetch-Site, when sent,
// does not say cross-site. A page elsewhere cannot make its browser
// leave either out.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return strings.EqualFold(origin, scheme+"://"+r.Host)
}

// adminAuthorized reports whether r carries the admin token. The
// comparison takes the same time whatever the token sent, so that
// timing reveals nothing of the right one: both are hashed to a fixed
// length first, then compared in constant time.
func (s *Server) adminAuthorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	want := sha256.Sum256([]byte(s.cfg.AdminToken))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// addFault adds the rule in the request body.
func (s *Server) addFault(w http.ResponseWriter, r *http.Request) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAdminBody))
	// A misspelt member would otherwise be dropped silently and leave a
	// rule broader than meant.
	dec.DisallowUnknownFields()
	var rule faults.Rule
	if err := dec.Decode(&rule); err != nil {
		adminError(w, http.StatusBadRequest, fmt.Sprintf("decoding rule: %v", err))
		return
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		adminError(w, http.StatusBadRequest, "decoding rule: unexpected data after the rule")
		return
	}
	added, err := s.cfg.Admin.Add(rule)
	if err != nil {
		adminError(w, http.StatusBadRequest, fmt.Sprintf("invalid rule: %v", err))
		return
	}
	s.log.Info("fault rule added", "id", added.ID, "operation", added.Operation, "effect", string(added.Effect))
	adminJSON(w, http.StatusCreated, added)
}

func adminError(w http.ResponseWriter, status int, message string) {
	adminJSON(w, status, struct {
		Error string `json:"error"`
	}{message})
}

func adminJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Rules and error strings always marshal.
		panic(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
