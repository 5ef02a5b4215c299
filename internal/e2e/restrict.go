package e2e

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// restrictArg, as the first argument of the test binary, makes it a
// wrapper that drops CAP_SYS_RESOURCE, sets RLIMIT_MEMLOCK and then execs
// the rest of its arguments: the limits of the CI host, on any machine.
const restrictArg = "-e2e-restrict-memlock="

// runRestrict is the wrapper's body (see Main); it returns only on error.
func runRestrict() (int, bool) {
	if len(os.Args) < 3 || !strings.HasPrefix(os.Args[1], restrictArg) {
		return 0, false
	}
	// The bounding set and the exec are per thread: both must happen on
	// the same one, or the tracer may inherit the full set.
	runtime.LockOSThread()
	limit, err := strconv.ParseUint(strings.TrimPrefix(os.Args[1], restrictArg), 10, 64)
	if err == nil {
		err = unix.Prctl(unix.PR_CAPBSET_DROP, unix.CAP_SYS_RESOURCE, 0, 0, 0)
	}
	if err == nil {
		err = unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: limit, Max: limit})
	}
	if err == nil {
		err = unix.Exec(os.Args[2], os.Args[2:], os.Environ())
	}
	fmt.Fprintln(os.Stderr, "e2e restrict:", err)
	return 5, true
}

// StartRestricted starts the tracer like StartTracer, without
// CAP_SYS_RESOURCE (dropped from the bounding set, so no exec regains it)
// and with RLIMIT_MEMLOCK set to memlock bytes.
func StartRestricted(t testing.TB, memlock uint64, bin string, args ...string) *Tracer {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return StartTracer(t, self, append([]string{restrictArg + strconv.FormatUint(memlock, 10), bin}, args...)...)
}

// StartTracerEnv is StartTracer with extra VAR=value settings. They are set
// in the test's own environment for the rest of the test (t.Setenv), so the
// test must not be parallel.
func StartTracerEnv(t testing.TB, env []string, bin string, args ...string) *Tracer {
	t.Helper()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return StartTracer(t, bin, args...)
}

// Wait waits up to timeout for the tracer to exit by itself and returns
// its exit code; ok is false on timeout.
func (tr *Tracer) Wait(timeout time.Duration) (code int, ok bool) {
	select {
	case <-tr.done:
		return tr.Cmd.ProcessState.ExitCode(), true
	case <-time.After(timeout):
		return -1, false
	}
}

// CopyForNobody copies the executable bin into a directory of its own that
// every user can reach, and returns the copy's path; the directory is
// removed when the test ends. A test that runs the tracer as another user
// cannot run it from the checkout, which may be unreachable (a clone in
// /root is mode 0700).
func CopyForNobody(t testing.TB, bin string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tcpv4connect-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// MkdirTemp honours $TMPDIR, which may itself be private.
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o001 == 0 {
			t.Fatalf("%s is not searchable by other users: point TMPDIR elsewhere", d)
		}
		if d == "/" {
			break
		}
	}
	src, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst := filepath.Join(dir, filepath.Base(bin))
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err == nil {
		_, err = io.Copy(f, src)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Chmod(dst, 0o755) // whatever the umask
	}
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
