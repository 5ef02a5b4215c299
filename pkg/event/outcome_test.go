package event

import (
	"encoding/binary"
	"testing"
)

func TestOutcomeNames(t *testing.T) {
	for _, tc := range []struct {
		e    Event
		want string
	}{
		{Event{Kind: KindConnect}, ""},
		{Event{Kind: KindOutcome, Flags: FlagEstablished}, "ESTABLISHED"},
		{Event{Kind: KindOutcome, Ret: -111}, "ECONNREFUSED"},
		{Event{Kind: KindOutcome, Ret: -110}, "ETIMEDOUT"},
		{Event{Kind: KindOutcome, Ret: -104}, "ECONNRESET"},
		{Event{Kind: KindOutcome}, "CLOSED"},
		{Event{Kind: KindOutcome, Ret: -4000}, "E4000"},
	} {
		if got := tc.e.Outcome(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.e, got, tc.want)
		}
	}
}

func TestConnectRet(t *testing.T) {
	if _, ok := (&Event{Ret: -99}).ConnectRet(); ok {
		t.Error("ret known without the flag")
	}
	if r, ok := (&Event{Ret: -99, Flags: FlagRetKnown}).ConnectRet(); !ok || r != -99 {
		t.Errorf("got %d %v", r, ok)
	}
	// Outcome events reuse ret for the handshake's error; the connect
	// itself returned 0 (only those are tracked).
	if r, ok := (&Event{Kind: KindOutcome, Ret: -111, Flags: FlagRetKnown}).ConnectRet(); !ok || r != 0 {
		t.Errorf("outcome: got %d %v", r, ok)
	}
}

func TestDecodeCount(t *testing.T) {
	key := make([]byte, CountKeySize)
	copy(key[0:], []byte{127, 0, 0, 1})
	copy(key[16:], []byte{10, 1, 2, 3})
	binary.LittleEndian.PutUint32(key[32:], AFInet)
	binary.LittleEndian.PutUint32(key[36:], 443)
	c, err := DecodeCount(key, 9)
	if err != nil || c.Saddr.String() != "127.0.0.1" || c.Daddr.String() != "10.1.2.3" || c.Dport != 443 || c.N != 9 {
		t.Errorf("got %+v, %v", c, err)
	}
	key[16+15] = 1
	binary.LittleEndian.PutUint32(key[32:], AFInet6)
	if c, err = DecodeCount(key, 1); err != nil || c.Daddr.String() != "a01:203::1" {
		t.Errorf("v6: got %+v, %v", c, err)
	}
	binary.LittleEndian.PutUint32(key[32:], 3)
	if _, err := DecodeCount(key, 1); err == nil {
		t.Error("bad family accepted")
	}
	if _, err := DecodeCount(key[:39], 1); err == nil {
		t.Error("short key accepted")
	}
}
