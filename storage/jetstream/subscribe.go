package jetstream

import (
	"strings"

	"github.com/nats-io/nats.go"
)

// Every placement's stream republishes the headers of each message it
// stores, once stored, on "trib.stored.<placement>.<id>" (its leader does,
// in a cluster, and the republication reaches subscribers on every node).
// The engine subscribes to them all and moves the tails of the logs it has
// loaded: so a Wait is woken, and an append finds the tail it expects,
// whichever node wrote the subject. The writer moves the tail itself too,
// on its acknowledgement; observe takes the later of the two.
//
// A republication is a core NATS message, at most once: one lost (a slow
// subscriber, a route down) leaves a tail behind until the next message of
// the log, or until a write's expected-sequence check fails and reloads
// it. That delays a waiter; it never lets a write through the fence.
const storedRoot = "trib.stored."

// onStored handles one republished message.
func (e *Engine) onStored(msg *nats.Msg) {
	subject := logSubjectRoot + strings.TrimPrefix(msg.Subject, storedRoot)
	e.mu.Lock()
	st := e.bySubject[subject]
	e.mu.Unlock()
	if st == nil {
		return // a log this engine has not loaded reads its tail when it does
	}
	seq, err := msgSeq(msg)
	if err != nil {
		return
	}
	m, err := parseTailMark(msg.Header.Get(hdrTail))
	if err != nil {
		return // a message without the header is none of the engine's
	}
	st.observe(seq, m)
	if m.kind == kindTombstone {
		e.forget(st)
	}
}

// forget drops a deleted log's state from the engine's maps, if it is
// still the one there, so that Log and CreateLog of the name start afresh.
func (e *Engine) forget(st *logState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.logs[st.name] == st {
		delete(e.logs, st.name)
	}
	if e.bySubject[st.subject] == st {
		delete(e.bySubject, st.subject)
	}
}

// remember puts st in the engine's maps, unless another state of the name
// is there already and alive; it returns the state in the map.
func (e *Engine) remember(st *logState, replace bool) *logState {
	e.mu.Lock()
	defer e.mu.Unlock()
	if other := e.logs[st.name]; other != nil && !replace && !other.snapshot().deleted {
		return other
	}
	if old := e.logs[st.name]; old != nil {
		delete(e.bySubject, old.subject)
	}
	e.logs[st.name] = st
	e.bySubject[st.subject] = st
	return st
}
