// Package bpfobj embeds the BPF object compiled from c/tcpconnect.bpf.c, so
// that the tracer binary alone is enough on a target host.
//
// The object is produced by `make` (see the Makefile's bpf target); a plain
// `go build` on a fresh checkout fails until it exists.
package bpfobj

import _ "embed"

//go:embed tcpconnect.bpf.o
var object []byte

// Object returns the compiled BPF ELF object. Callers must not modify it.
func Object() []byte { return object }
