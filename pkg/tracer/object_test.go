package tracer

import (
	"bytes"
	"debug/elf"
	"strings"
	"testing"

	"github.com/tcpv4connect/tcpv4connect/pkg/bpfobj"
)

// TestNamesMatchObject checks every program, map and .rodata global the
// Go side names against the embedded object's symbols, so that a renamed C
// symbol fails here rather than at load time in a VM.
func TestNamesMatchObject(t *testing.T) {
	f, err := elf.NewFile(bytes.NewReader(bpfobj.Object()))
	if err != nil {
		t.Fatalf("embedded object: %v (run `make bpf`)", err)
	}
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	section := map[string]string{} // symbol -> its section's name
	for _, s := range syms {
		if int(s.Section) < len(f.Sections) && s.Name != "" {
			section[s.Name] = f.Sections[s.Section].Name
		}
	}
	secPrefix := map[probeKind]string{
		kindFexit:      "fexit/",
		kindEntry:      "kprobe/",
		kindReturn:     "kretprobe/",
		kindRawTP:      "raw_tp/",
		kindTracepoint: "tracepoint/",
	}
	for _, p := range probes {
		want := secPrefix[p.kind] + p.target
		if got := section[p.prog]; got != want {
			t.Errorf("program %s: in section %q of the object, the probe table says %q", p.prog, got, want)
		}
	}
	for _, m := range usedMaps {
		if got := section[m]; got != ".maps" {
			t.Errorf("map %s: section %q, want .maps", m, got)
		}
	}
	for _, g := range globals(&Config{}, ModeTracepoint) {
		if got := section[g.name]; !strings.HasPrefix(got, ".rodata") {
			t.Errorf("global %s: section %q, want .rodata (a const volatile)", g.name, got)
		}
	}
}
