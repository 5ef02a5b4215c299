package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckBTF: raw BTF (either byte order) and the kernel's own pass;
// anything else is "not a BTF file", with the reason.
func TestCheckBTF(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, p := range []string{
		write("le.btf", []byte{0x9f, 0xeb, 1, 0, 24, 0, 0, 0}),
		write("be.btf", []byte{0xeb, 0x9f, 1, 0, 0, 0, 0, 24}),
	} {
		if err := CheckBTF(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err == nil {
		if err := CheckBTF("/sys/kernel/btf/vmlinux"); err != nil {
			t.Errorf("kernel BTF: %v", err)
		}
	}
	self, err := os.Executable() // an ELF file with no .BTF section
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, why string }{
		{write("garbage", []byte("this is not BTF at all\n")), "neither the BTF magic"},
		{write("empty", nil), "neither the BTF magic"},
		{write("one", []byte{0x9f}), "neither the BTF magic"},
		{write("bad.elf", []byte("\x7fELF\x02\x01\x01junk")), "a damaged ELF file"},
		{self, "an ELF file without a .BTF section"},
	} {
		err := CheckBTF(c.path)
		if err == nil || !strings.HasPrefix(err.Error(), "--btf "+c.path+": not a BTF file (") || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%s: %v, want not a BTF file (%s ...)", c.path, err, c.why)
		}
	}
}
