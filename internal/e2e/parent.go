package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Orphan is a connect made by a helper whose parent is a short-lived
// shell: both have exited by the time OrphanConnect returns, so nothing in
// /proc can name either any more.
type Orphan struct {
	PID        int    // the helper that connected (its main thread did)
	PPID       int    // the shell that started it
	ParentComm string // the shell's name, as the kernel has it
}

// OrphanConnect runs c from a helper started by /bin/sh under the name
// parentComm (at most 15 bytes: a symlink of that name, since comm is the
// name of the file executed). The helper connects and exits at once; so
// does the shell.
func OrphanConnect(t testing.TB, c Connect, parentComm string) Orphan {
	t.Helper()
	if len(parentComm) > 15 {
		t.Fatalf("parent name %q: longer than a comm", parentComm)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sh := filepath.Join(t.TempDir(), parentComm)
	if err := os.Symlink("/bin/sh", sh); err != nil {
		t.Fatal(err)
	}
	// The helper is a child of the shell (a pipeline element is forked);
	// the go signal comes through the pipe.
	cmd := exec.Command(sh, "-c", `echo go | "$0"`, self)
	// The kernel names the process after the file executed (the
	// symlink); the shell itself sees "sh", which a busybox shell (the
	// VM guests') needs to pick its applet.
	cmd.Args[0] = "sh"
	cmd.Env = append(os.Environ(), helperEnv+"="+c.String())
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", parentComm, err, out.String())
	}
	var o Orphan
	if _, err := fmt.Sscanf(out.String(), "tid %d", &o.PID); err != nil {
		t.Fatalf("helper output %q: %v", out.String(), err)
	}
	o.PPID, o.ParentComm = cmd.Process.Pid, parentComm
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", o.PID)); err == nil {
		t.Fatalf("helper %d still in /proc after its exit", o.PID)
	}
	return o
}
