package tracer

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ErrPrivilege means the process may not load BPF programs.
var ErrPrivilege = errors.New("permission denied: run as root, or grant CAP_BPF and CAP_PERFMON (kernel 5.8+) or CAP_SYS_ADMIN")

// ErrNoBTF means neither the kernel nor the user supplied type information.
var ErrNoBTF = errors.New("no kernel BTF at " + KernelBTF + " (kernel built without CONFIG_DEBUG_INFO_BTF): pass --btf FILE, e.g. this kernel's file from BTFHub")

// Preflight checks what loading needs before libbpf is asked: privileges
// and BTF. btfPath is the user's --btf, or "" for the kernel's own.
func Preflight(btfPath string) error {
	if err := checkCaps(); err != nil {
		return err
	}
	if btfPath != "" {
		f, err := os.Open(btfPath)
		if err != nil {
			return fmt.Errorf("--btf: %w", err)
		}
		return f.Close()
	}
	if _, err := os.Stat(KernelBTF); err != nil {
		return ErrNoBTF
	}
	return nil
}

func checkCaps() error {
	eff, err := effectiveCaps()
	if err != nil {
		return fmt.Errorf("read capabilities: %w", err)
	}
	has := func(c uint) bool { return eff&(1<<c) != 0 }
	if has(unix.CAP_SYS_ADMIN) || (has(unix.CAP_BPF) && has(unix.CAP_PERFMON)) {
		return nil
	}
	return ErrPrivilege
}
