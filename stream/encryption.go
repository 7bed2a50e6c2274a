package stream

import (
	"context"
	"errors"
	"time"

	"github.com/tributary-io/tributary/keyring"
	"github.com/tributary-io/tributary/storage"
)

// Server-side encryption (StartStreamEncryption, StopStreamEncryption).
//
// The catalogue keeps the stream's setting: EncryptionType KMS, the KeyId
// as the client gave it (DescribeStream echoes it, as AWS does) and the
// key's UUID as the keyring resolved it then, which is what the shard logs
// are encrypted under (storage.ShardLog.SetEncryption); an alias moved to
// another key later does not change the key of a stream, as in KMS, where
// an alias is resolved when it is used.
//
// Invariant: the logs are never less encrypted than the catalogue says.
// Start sets the open shards' logs first and records the setting second;
// Stop records first and clears the logs second. A crash between the two
// leaves logs encrypted under a stream described as NONE, which costs
// some CPU and loses nothing; the other order could leave records in the
// clear under a stream described as KMS. Shards made later (splits,
// merges, on-demand scaling) create their logs with the stream's key
// (LogOptions.EncryptionKey), from the catalogue entry that recorded
// their intent.
//
// The engine under --storage memory keeps the setting and encrypts
// nothing: memory is not at rest.

// EncryptionKMS is the encryption type of an encrypted stream.
const EncryptionKMS = "KMS"

// maxEncryptionChanges is AWS's limit on StartStreamEncryption (a new key)
// and on StopStreamEncryption, each in a rolling 24 hours.
const maxEncryptionChanges = 25

// EncryptionInput is StartStreamEncryption's and StopStreamEncryption's
// request.
type EncryptionInput struct {
	Stream         StreamRef
	EncryptionType string
	KeyID          string
}

// StartStreamEncryption encrypts the records written to a stream from now
// on under the KMS key in.KeyID (a key id, key ARN, alias or alias ARN).
// The stream is UPDATING for UpdateDelay, as on AWS.
func (s *Service) StartStreamEncryption(ctx context.Context, scope Scope, in EncryptionInput) error {
	if in.EncryptionType != EncryptionKMS {
		return errEncryptionType(in.EncryptionType)
	}
	name, err := resolve(scope, in.Stream)
	if err != nil {
		return err
	}
	key, err := s.describeKey(ctx, scope, in.KeyID)
	if err != nil {
		return err
	}
	e, st, err := s.get(ctx, scope, name)
	if err != nil {
		return internal("start stream encryption", err)
	}
	if st != StatusActive {
		return errNotActive(name, scope.Account, st)
	}
	if err := checkEncryptionRate(e.rec.EncryptionStarts, s.now(), "apply a new KMS key to", name, scope.Account); err != nil {
		return err
	}
	// Logs first (see the invariant above).
	if err := s.setLogEncryption(ctx, e.rec, key.ID); err != nil {
		return err
	}
	_, err = s.update(ctx, scope, name, func(rec *streamRecord, st StreamStatus) error {
		if st != StatusActive {
			return errNotActive(name, scope.Account, st)
		}
		now := s.now()
		rec.EncryptionStarts = append(recentChanges(rec.EncryptionStarts, now), now)
		rec.EncryptionType, rec.KeyID, rec.EncryptionKey = EncryptionKMS, in.KeyID, key.ID
		rec.UpdatingUntil = now.Add(s.updateDelay)
		return nil
	})
	return internal("start stream encryption", err)
}

// StopStreamEncryption stops encrypting the records written to a stream
// from now on; those written before stay encrypted and readable. AWS
// documents no KMS errors for it, and no check of KeyId against the
// stream's key: it takes any KeyId, and so does Tributary.
func (s *Service) StopStreamEncryption(ctx context.Context, scope Scope, in EncryptionInput) error {
	if in.EncryptionType != EncryptionKMS {
		return errEncryptionType(in.EncryptionType)
	}
	name, err := resolve(scope, in.Stream)
	if err != nil {
		return err
	}
	rec, err := s.update(ctx, scope, name, func(rec *streamRecord, st StreamStatus) error {
		if st != StatusActive {
			return errNotActive(name, scope.Account, st)
		}
		now := s.now()
		if err := checkEncryptionRate(rec.EncryptionStops, now, "disable server-side encryption on", name, scope.Account); err != nil {
			return err
		}
		rec.EncryptionStops = append(recentChanges(rec.EncryptionStops, now), now)
		rec.EncryptionType, rec.KeyID, rec.EncryptionKey = "", "", ""
		rec.UpdatingUntil = now.Add(s.updateDelay)
		return nil
	})
	if err != nil {
		return internal("stop stream encryption", err)
	}
	// Catalogue first, logs second (see the invariant above).
	return s.setLogEncryption(ctx, rec, "")
}

// setLogEncryption sets the encryption key of the logs of the stream's
// open shards (closed ones take no more records).
func (s *Service) setLogEncryption(ctx context.Context, rec *streamRecord, keyID string) error {
	for i := range rec.Shards {
		if !rec.Shards[i].open() {
			continue
		}
		l, err := s.shardLog(ctx, rec, rec.Shards[i].Index)
		if err != nil {
			return internal("set shard encryption", err)
		}
		if err := l.SetEncryption(ctx, keyID); err != nil {
			if kerr := kmsError(err, rec); kerr != nil {
				return kerr
			}
			return internal("set shard encryption", err)
		}
	}
	return nil
}

// describeKey resolves a KeyId with the keyring, answering AWS's KMS
// exceptions for an unknown or disabled key.
func (s *Service) describeKey(ctx context.Context, scope Scope, keyID string) (keyring.Key, error) {
	if s.keys == nil {
		return keyring.Key{}, errKMSNotFound(keyID + " (the server has no keyring: start it with --keyring)")
	}
	key, err := s.keys.Describe(ctx, keyID, scope.Region, scope.Account)
	switch {
	case errors.Is(err, keyring.ErrNotFound):
		return keyring.Key{}, errKMSNotFound(keyID)
	case err != nil:
		return keyring.Key{}, internal("describe key", err)
	case !key.Enabled:
		return keyring.Key{}, errKMSDisabled(key.ARN(scope.Region, scope.Account))
	}
	return key, nil
}

// checkWriteKey refuses writes to a stream whose key is disabled or gone,
// as AWS does (PutRecord and PutRecords answer KMSDisabledException).
func (s *Service) checkWriteKey(ctx context.Context, scope Scope, rec *streamRecord) error {
	if rec.EncryptionKey == "" {
		return nil
	}
	_, err := s.describeKey(ctx, scope, rec.EncryptionKey)
	return err
}

// kmsError is the KMS exception for a storage error caused by the key
// provider (a disabled or missing key, a data key that does not unwrap),
// or nil when err is something else.
func kmsError(err error, rec *streamRecord) error {
	arn := rec.EncryptionKey
	var k keyring.Key
	if arn != "" {
		k.ID = arn
		arn = k.ARN(rec.Region, rec.Account)
	}
	switch {
	case errors.Is(err, keyring.ErrDisabled):
		return errKMSDisabled(arn)
	case errors.Is(err, keyring.ErrNotFound):
		return errKMSNotFound(arn)
	case errors.Is(err, keyring.ErrInvalidCiphertext), errors.Is(err, storage.ErrDecrypt):
		return errKMSInvalidState(err)
	}
	return nil
}

// recentChanges drops the times older than 24 hours.
func recentChanges(times []time.Time, now time.Time) []time.Time {
	kept := times[:0:0]
	for _, t := range times {
		if now.Sub(t) < 24*time.Hour {
			kept = append(kept, t)
		}
	}
	return kept
}

func checkEncryptionRate(times []time.Time, now time.Time, what, name, account string) error {
	if len(recentChanges(times, now)) >= maxEncryptionChanges {
		return errEncryptionRate(what, name, account)
	}
	return nil
}

// encryptionType is the stream's EncryptionType as outputs show it.
func (r *streamRecord) encryptionType() string {
	if r.EncryptionType == "" {
		return EncryptionNone
	}
	return r.EncryptionType
}

// recordEncryption is a read record's EncryptionType: KMS when the engine
// stored it encrypted, else empty (AWS omits it).
func recordEncryption(r storage.StoredRecord) string {
	if r.Encrypted {
		return EncryptionKMS
	}
	return ""
}
