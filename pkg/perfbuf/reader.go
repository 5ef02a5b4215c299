// Package perfbuf drains a BPF perf event array from Go: one mmap'd ring
// per CPU, read in place. Unlike libbpf's perf_buffer with libbpfgo's
// callback, it costs no cgo call, no allocation and no goroutine hand-off
// per sample, which is what lets the tracer keep up with connect storms.
package perfbuf

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Map is the perf event array the BPF programs write to; libbpfgo's
// *BPFMap satisfies it.
type Map interface {
	Update(key, value unsafe.Pointer) error
}

// Reader owns one perf ring per online CPU.
type Reader struct {
	epfd    int
	rings   []*ring
	ready   []unix.EpollEvent
	scratch []byte
}

type ring struct {
	fd   int
	mem  []byte
	meta *unix.PerfEventMmapPage
	data []byte
}

// Open creates a ring of pages pages (a power of two) on each online CPU
// and installs it in m at that CPU's index.
func Open(m Map, pages int) (r *Reader, err error) {
	if pages <= 0 || pages&(pages-1) != 0 {
		return nil, fmt.Errorf("perf buffer pages %d: want a power of two", pages)
	}
	cpus, err := onlineCPUs()
	if err != nil {
		return nil, err
	}
	r = &Reader{epfd: -1, scratch: make([]byte, 0, 256)}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	if r.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return r, fmt.Errorf("epoll: %w", err)
	}
	pageSize := os.Getpagesize()
	for _, cpu := range cpus {
		attr := unix.PerfEventAttr{
			Type:        unix.PERF_TYPE_SOFTWARE,
			Config:      unix.PERF_COUNT_SW_BPF_OUTPUT,
			Sample_type: unix.PERF_SAMPLE_RAW,
			Sample:      1,
			Wakeup:      uint32(Watermark(pages * pageSize)),
			Bits:        unix.PerfBitWatermark,
		}
		attr.Size = uint32(unsafe.Sizeof(attr))
		fd, err := unix.PerfEventOpen(&attr, -1, cpu, -1, unix.PERF_FLAG_FD_CLOEXEC)
		if err != nil {
			return r, fmt.Errorf("perf_event_open on cpu %d: %w", cpu, err)
		}
		rg := &ring{fd: fd}
		r.rings = append(r.rings, rg)
		rg.mem, err = unix.Mmap(fd, 0, (1+pages)*pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return r, fmt.Errorf("mmap perf ring on cpu %d: %w", cpu, err)
		}
		rg.meta = (*unix.PerfEventMmapPage)(unsafe.Pointer(&rg.mem[0]))
		rg.data = rg.mem[pageSize:]
		key, val := uint32(cpu), uint32(fd)
		if err := m.Update(unsafe.Pointer(&key), unsafe.Pointer(&val)); err != nil {
			return r, fmt.Errorf("install perf ring for cpu %d: %w", cpu, err)
		}
		if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_ENABLE, 0); err != nil {
			return r, fmt.Errorf("enable perf ring on cpu %d: %w", cpu, err)
		}
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(len(r.rings) - 1)}
		if err := unix.EpollCtl(r.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return r, fmt.Errorf("epoll add: %w", err)
		}
	}
	r.ready = make([]unix.EpollEvent, len(r.rings))
	return r, nil
}

// Watermark is how many bytes of a ring of size bytes must fill before the
// kernel wakes the reader. Waking per sample (libbpf's choice) costs an
// irq_work in the traced process and a reader wake-up, with its Go
// scheduler traffic, for every connect. With a watermark of 1/16 of the
// ring (16 KiB, ~140 samples, with the default 64 pages) a burst is read
// in batches of that size, 15/16 of the ring stay free as headroom while
// the reader wakes up, and below that rate the caller's poll timeout is
// what bounds the delay before a sample is read.
func Watermark(size int) int { return size / 16 }

// Poll waits up to timeoutMs for a ring to reach its watermark, then reads
// every ring empty.
// sample gets each raw sample, valid only during the call; lost gets the
// counts of samples the kernel dropped because a ring was full.
func (r *Reader) Poll(timeoutMs int, sample func([]byte), lost func(uint64)) error {
	_, err := unix.EpollWait(r.epfd, r.ready, timeoutMs)
	if err != nil && err != unix.EINTR {
		return fmt.Errorf("epoll_wait: %w", err)
	}
	// Every ring is read, not only the ready ones: after a timeout none is
	// ready, yet samples (and loss records) below the watermark wait.
	for _, rg := range r.rings {
		r.drain(rg, sample, lost)
	}
	return nil
}

// Record types and header size, from linux/perf_event.h.
const (
	recordLost   = unix.PERF_RECORD_LOST
	recordSample = unix.PERF_RECORD_SAMPLE
	headerSize   = 8
)

func (r *Reader) drain(rg *ring, sample func([]byte), lost func(uint64)) {
	head := atomic.LoadUint64(&rg.meta.Data_head)
	tail := rg.meta.Data_tail
	size := uint64(len(rg.data))
	for tail < head {
		rec := r.record(rg.data, tail, size)
		if rec == nil {
			break // corrupt header: skip what is left
		}
		typ := binary.LittleEndian.Uint32(rec[0:])
		switch typ {
		case recordSample:
			if len(rec) >= headerSize+4 {
				n := int(binary.LittleEndian.Uint32(rec[headerSize:]))
				if n > len(rec)-headerSize-4 {
					n = len(rec) - headerSize - 4
				}
				sample(rec[headerSize+4 : headerSize+4+n])
			}
		case recordLost:
			if len(rec) >= headerSize+16 {
				lost(binary.LittleEndian.Uint64(rec[headerSize+8:]))
			}
		}
		tail += uint64(len(rec))
	}
	atomic.StoreUint64(&rg.meta.Data_tail, head)
}

// record returns the record at tail, copied into scratch if it wraps
// around the end of the ring; nil if its header is impossible.
func (r *Reader) record(data []byte, tail, size uint64) []byte {
	off := tail & (size - 1)
	var hdr [headerSize]byte
	for i := range hdr {
		hdr[i] = data[(off+uint64(i))&(size-1)]
	}
	n := uint64(binary.LittleEndian.Uint16(hdr[6:]))
	if n < headerSize || n > size {
		return nil
	}
	if off+n <= size {
		return data[off : off+n]
	}
	r.scratch = append(r.scratch[:0], data[off:]...)
	r.scratch = append(r.scratch, data[:n-(size-off)]...)
	return r.scratch
}

// Close unmaps and closes every ring.
func (r *Reader) Close() {
	for _, rg := range r.rings {
		if rg.mem != nil {
			_ = unix.Munmap(rg.mem)
		}
		unix.Close(rg.fd)
	}
	r.rings = nil
	if r.epfd >= 0 {
		unix.Close(r.epfd)
		r.epfd = -1
	}
}

// onlineCPUs parses /sys/devices/system/cpu/online, e.g. "0-3,6".
func onlineCPUs() ([]int, error) {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return nil, fmt.Errorf("online cpus: %w", err)
	}
	return parseCPUList(strings.TrimSpace(string(b)))
}

func parseCPUList(s string) ([]int, error) {
	var cpus []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("cpu list %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("cpu list %q: bad range %q", s, part)
			}
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}
