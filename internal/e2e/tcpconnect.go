package e2e

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// EnvTCPConnectBin names the tcpconnect binary under test. When it is not
// set, the tcpconnect tests use EnvBin's binary, so that the VM matrix can
// run build/e2e-tcpconnect.test with TCPV4CONNECT_BIN=./tcpconnect.
const EnvTCPConnectBin = "TCPCONNECT_BIN"

// TCPConnectBin returns the tcpconnect binary under test.
func TCPConnectBin() string {
	if b := os.Getenv(EnvTCPConnectBin); b != "" {
		return b
	}
	return Bin()
}

// Cgroup2Root returns where cgroup v2 is mounted ("" if nowhere): the
// hybrid layout's /sys/fs/cgroup/unified, or /sys/fs/cgroup.
func Cgroup2Root() string {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 3 && fields[2] == "cgroup2" {
			return fields[1]
		}
	}
	return ""
}

// NewCgroup creates a child cgroup (v2) for this test and removes it at
// cleanup, once the processes moved into it have exited.
func NewCgroup(t testing.TB) string {
	t.Helper()
	root := Cgroup2Root()
	if root == "" {
		t.Skip("no cgroup v2 mount")
	}
	dir, err := os.MkdirTemp(root, "tcpconnect-e2e-")
	if err != nil {
		t.Fatalf("create cgroup: %v", err)
	}
	t.Cleanup(func() {
		if err := os.Remove(dir); err != nil {
			t.Errorf("remove cgroup %s: %v", dir, err)
		}
	})
	return dir
}

// MoveToCgroup moves process pid into the cgroup dir.
func MoveToCgroup(t testing.TB, dir string, pid int) {
	t.Helper()
	procs := filepath.Join(dir, "cgroup.procs")
	if err := os.WriteFile(procs, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		t.Fatalf("move %d to %s: %v", pid, dir, err)
	}
}
