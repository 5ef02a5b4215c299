package format

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tcpv4connect/tcpv4connect/pkg/event"
)

// decodeStrict parses one JSON line into a map, and checks that it is one
// line and that Record (the schema) knows every field.
func decodeStrict(t *testing.T, line string) map[string]any {
	t.Helper()
	if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
		t.Fatalf("%q is not one line", line)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	return m
}

func TestJSONConnect(t *testing.T) {
	e := ev(t, 42, "curl", "127.0.0.1", "127.0.0.1", 5555, 80)
	e.TID, e.TsNs, e.Netns, e.CgroupID = 43, 1_000_000_000, 4026531840, 77
	e.PPID = 41
	copy(e.PComm[:], "bash")
	e.Flags = event.FlagRetKnown
	offset := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano() - 1_000_000_000
	line := NewJSON("fentry", offset).Row(&e)
	m := decodeStrict(t, line)
	want := map[string]any{
		"schema_version": 1.0, "type": "connect", "time": "2026-01-02T03:04:05Z", "ktime_ns": 1e9,
		"pid": 42.0, "tid": 43.0, "uid": 1000.0, "comm": "curl", "ppid": 41.0, "pcomm": "bash", "family": "ipv4",
		"saddr": "127.0.0.1", "sport": 5555.0, "daddr": "127.0.0.1", "dport": 80.0,
		"attach": "fentry", "netns": 4026531840.0, "cgroup_id": 77.0, "ret": 0.0,
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	for k := range m {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected field %s in %s", k, line)
		}
	}
	var r Record
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Errorf("Record does not decode its own line: %v", err)
	}
}

func TestJSONTracepointUnknowns(t *testing.T) {
	e := ev(t, 42, "curl", "::1", "::1", 0, 80)
	m := decodeStrict(t, NewJSON("tracepoint", 0).Row(&e))
	if m["ret"] != nil || m["sport"] != nil || m["family"] != "ipv6" || m["saddr"] != "::1" {
		t.Errorf("want ret and sport null, family ipv6: %v", m)
	}
	if _, ok := m["error"]; ok {
		t.Errorf("error set without a return value: %v", m)
	}
}

func TestJSONFailedAndOutcome(t *testing.T) {
	e := ev(t, 1, "nc", "127.0.0.1", "127.0.0.1", 0, 80)
	e.Ret, e.Flags = -99, event.FlagRetKnown
	m := decodeStrict(t, NewJSON("kprobe", 0).Row(&e))
	if m["ret"] != -99.0 || m["error"] != "EADDRNOTAVAIL" {
		t.Errorf("failed connect: %v", m)
	}
	e.Kind, e.Ret, e.Flags, e.LatNs, e.Sport = event.KindOutcome, -111, event.FlagRetKnown, 12345, 4000
	m = decodeStrict(t, NewJSON("kprobe", 0).Row(&e))
	if m["type"] != "outcome" || m["outcome"] != "ECONNREFUSED" || m["latency_ns"] != 12345.0 || m["ret"] != 0.0 {
		t.Errorf("refused outcome: %v", m)
	}
	e.Flags |= event.FlagEstablished
	e.Ret = 0
	if m = decodeStrict(t, NewJSON("kprobe", 0).Row(&e)); m["outcome"] != "ESTABLISHED" {
		t.Errorf("established outcome: %v", m)
	}
}

// TestJSONComm: names are never dropped: control bytes are escaped by
// JSON, invalid UTF-8 is kept in comm_b64.
func TestJSONComm(t *testing.T) {
	for _, comm := range []string{"a\x1b[31m\"\\", "caf\u00e9", "bad\xff\xfe", "\x01"} {
		e := ev(t, 1, comm, "127.0.0.1", "127.0.0.1", 0, 80)
		line := NewJSON("fentry", 0).Row(&e)
		if bytes.ContainsAny([]byte(line), "\x1b\x01") {
			t.Errorf("raw control byte in %q", line)
		}
		m := decodeStrict(t, line)
		got := m["comm"].(string)
		if b64, ok := m["comm_b64"].(string); ok {
			raw, err := base64.StdEncoding.DecodeString(b64)
			if err != nil || string(raw) != comm {
				t.Errorf("comm_b64 %q decodes to %q, want %q", b64, raw, comm)
			}
		} else if got != comm {
			t.Errorf("comm %q, want %q (and no comm_b64)", got, comm)
		}
	}
}

func TestJSONStartAndLost(t *testing.T) {
	f := NewJSON("tracepoint", 0)
	m := decodeStrict(t, f.Start())
	if m["type"] != "start" || m["schema_version"] != 1.0 || m["attach"] != "tracepoint" {
		t.Errorf("start: %v", m)
	}
	m = decodeStrict(t, f.Lost(17))
	if m["type"] != "lost" || m["count"] != 17.0 || m["schema_version"] != 1.0 || m["reason"] != "perf_buffer_full" {
		t.Errorf("lost: %v", m)
	}
	if _, err := time.Parse(time.RFC3339Nano, m["time"].(string)); err != nil {
		t.Errorf("lost time: %v", err)
	}
}
