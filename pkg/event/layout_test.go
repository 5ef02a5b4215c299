package event

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"
)

// TestLayoutMatchesObject reads struct event from the BTF of the compiled
// BPF object (not from a copy of the header) and checks that the decoder's
// offsets and size agree with it, field by field.
func TestLayoutMatchesObject(t *testing.T) {
	const obj = "../bpfobj/tcpconnect.bpf.o"
	if _, err := os.Stat(obj); err != nil {
		t.Fatalf("%s missing: run `make bpf` first (%v)", obj, err)
	}
	out, err := exec.Command("bpftool", "-j", "btf", "dump", "file", obj).Output()
	if err != nil {
		t.Fatalf("bpftool btf dump %s: %v (scripts/setup.sh installs bpftool)", obj, err)
	}
	var dump struct {
		Types []struct {
			Kind    string `json:"kind"`
			Name    string `json:"name"`
			Size    int    `json:"size"`
			Members []struct {
				Name       string `json:"name"`
				BitsOffset int    `json:"bits_offset"`
			} `json:"members"`
		} `json:"types"`
	}
	if err := json.Unmarshal(out, &dump); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"ts_ns": offTsNs, "cgroup_id": offCgroupID, "lat_ns": offLatNs,
		"pid": offPID, "tid": offTID, "uid": offUID, "netns": offNetns,
		"ret": offRet, "family": offFamily, "sport": offSport, "dport": offDport,
		"kind": offKind, "flags": offFlags, "saddr": offSaddr, "daddr": offDaddr,
		"comm": offComm, "ppid": offPPID, "pcomm": offPComm,
	}
	for _, ty := range dump.Types {
		if ty.Kind != "STRUCT" || ty.Name != "event" {
			continue
		}
		if ty.Size != Size {
			t.Errorf("sizeof(struct event) = %d in the object, Go decodes %d", ty.Size, Size)
		}
		if len(ty.Members) != len(want) {
			t.Errorf("struct event has %d fields in the object, Go decodes %d", len(ty.Members), len(want))
		}
		for _, m := range ty.Members {
			off, ok := want[m.Name]
			if !ok {
				t.Errorf("field %s is in the object but not decoded", m.Name)
				continue
			}
			if m.BitsOffset != off*8 {
				t.Errorf("field %s at byte %d in the object, Go reads byte %d", m.Name, m.BitsOffset/8, off)
			}
		}
		return
	}
	t.Fatal("no struct event in the object's BTF")
}
