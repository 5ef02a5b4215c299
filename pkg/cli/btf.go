package cli

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
)

// btfMagic is the first field of a BTF header (struct btf_header), 0xeB9F,
// as its bytes in little- and big-endian order.
var btfMagicLE, btfMagicBE = []byte{0x9f, 0xeb}, []byte{0xeb, 0x9f}

// CheckBTF tells whether path holds kernel BTF as --btf takes it: raw BTF
// (a BTFHub file, /sys/kernel/btf/vmlinux) or an ELF file with a .BTF
// section (a vmlinux). A file that is neither is bad input, said here
// rather than by libbpf's load error, which would blame the BPF object.
func CheckBTF(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return flagPathError("--btf", path, err)
	}
	defer f.Close()
	head := make([]byte, 4)
	n, err := io.ReadFull(f, head)
	switch {
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF):
		return fmt.Errorf("--btf %s: %w", path, err)
	case n >= 2 && (bytes.Equal(head[:2], btfMagicLE) || bytes.Equal(head[:2], btfMagicBE)):
		return nil
	case n == 4 && string(head) == elf.ELFMAG:
		ef, err := elf.NewFile(f)
		if err != nil {
			return fmt.Errorf("--btf %s: not a BTF file (a damaged ELF file: %v)", path, err)
		}
		defer ef.Close()
		if ef.Section(".BTF") == nil {
			return fmt.Errorf("--btf %s: not a BTF file (an ELF file without a .BTF section)", path)
		}
		return nil
	}
	return fmt.Errorf("--btf %s: not a BTF file (it starts with neither the BTF magic 0xeB9F nor an ELF header)", path)
}
