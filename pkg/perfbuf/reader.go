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
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Map is the perf event array the BPF programs write to; libbpfgo's
// *BPFMap satisfies it.
type Map interface {
	Update(key, value unsafe.Pointer) error
}

// Reader owns one perf ring per online CPU.
//
// The kernel wakes it for every sample, as libbpf does, so that a connect
// at a low rate is shown at once. Under load it paces itself instead
// (Wait): after a read that found samples, the next read waits up to
// Batch, so the Go runtime's cost of a wake-up is shared by every sample
// of the batch.
type Reader struct {
	epfd   int // the rings and the interrupt
	idlefd int // the interrupt alone: waiting out a batch
	// intrfd is the eventfd Interrupt writes; under intrMu, since
	// Interrupt may race with Close, and a closed fd's number is reused.
	intrMu  sync.Mutex
	intrfd  int
	rings   []*ring
	ready   []unix.EpollEvent
	scratch []byte

	// Batch bounds the wait for more samples after a read that found
	// some: the display delay under load.
	Batch    time.Duration
	lastRead time.Time     // the last read that found samples
	busy     bool          // it came within 2*Batch of the one before
	wait     time.Duration // how long the next read waits, when busy
}

// DefaultBatch is a user's threshold of "at once", and 20 wake-ups a
// second under load.
const DefaultBatch = 50 * time.Millisecond

// A burst's first wait, and the shortest: the wait grows from it while the
// rings stay nearly empty at each read, so a rate estimate made from a
// couple of samples never lets a fast burst fill a ring.
const (
	firstWait = 2 * time.Millisecond
	minWait   = time.Millisecond
)

// interruptKey marks the eventfd in the epoll sets: ring indexes are >= 0.
const interruptKey = -1

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
	r = &Reader{epfd: -1, idlefd: -1, intrfd: -1, Batch: DefaultBatch, scratch: make([]byte, 0, 256)}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	if err = r.openInterrupt(); err != nil {
		return r, err
	}
	pageSize := os.Getpagesize()
	for _, cpu := range cpus {
		attr := unix.PerfEventAttr{
			Type:        unix.PERF_TYPE_SOFTWARE,
			Config:      unix.PERF_COUNT_SW_BPF_OUTPUT,
			Sample_type: unix.PERF_SAMPLE_RAW,
			Sample:      1,
			Wakeup:      1, // wake per sample: Wait does the batching
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
	r.ready = make([]unix.EpollEvent, len(r.rings)+1)
	return r, nil
}

// openInterrupt creates the two epoll sets and the eventfd in both.
func (r *Reader) openInterrupt() (err error) {
	if r.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return fmt.Errorf("epoll: %w", err)
	}
	if r.idlefd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return fmt.Errorf("epoll: %w", err)
	}
	if r.intrfd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fmt.Errorf("eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: interruptKey}
	for _, set := range []int{r.epfd, r.idlefd} {
		if err := unix.EpollCtl(set, unix.EPOLL_CTL_ADD, r.intrfd, &ev); err != nil {
			return fmt.Errorf("epoll add: %w", err)
		}
	}
	return nil
}

// Interrupt ends the current Wait and makes every later one return at
// once: the caller is stopping. Safe from any goroutine.
func (r *Reader) Interrupt() {
	r.intrMu.Lock()
	defer r.intrMu.Unlock()
	if r.intrfd >= 0 {
		one := [8]byte{1}
		_, _ = unix.Write(r.intrfd, one[:])
	}
}

// Wait returns when samples are waiting to be read, after at most
// timeoutMs (negative: no limit), or at once after Interrupt. Only reads
// in quick succession start a batch: at a low rate each sample wakes it,
// and its row is shown at once. In a burst it first lets samples build up,
// for a wait that starts at 2 ms, doubles while the fullest ring holds
// under 1/16 of its size at each read, halves when it held over 1/8, never
// passes the time that ring takes to fill 1/8 at the rate it filled last
// time, and is at most Batch: 7/8 of every ring stay free for a reader
// that gets no CPU for a while.
func (r *Reader) Wait(timeoutMs int) error {
	if d := r.batchLeft(time.Now()); d > 0 {
		_, err := unix.EpollWait(r.idlefd, r.ready[:1], int((d+time.Millisecond-1)/time.Millisecond))
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("epoll_wait: %w", err)
		}
		return nil
	}
	_, err := unix.EpollWait(r.epfd, r.ready, timeoutMs)
	if err != nil && err != unix.EINTR {
		return fmt.Errorf("epoll_wait: %w", err)
	}
	return nil
}

// batchLeft is how long Wait should still let samples build up.
func (r *Reader) batchLeft(now time.Time) time.Duration {
	if !r.busy {
		return 0
	}
	return r.lastRead.Add(r.wait).Sub(now)
}

// Poll waits (Wait) up to timeoutMs, then reads every ring empty.
// sample gets each raw sample, valid only during the call; lost gets the
// counts of samples the kernel dropped because a ring was full.
func (r *Reader) Poll(timeoutMs int, sample func([]byte), lost func(uint64)) error {
	if timeoutMs != 0 {
		if err := r.Wait(timeoutMs); err != nil {
			return err
		}
	}
	r.Drain(sample, lost)
	return nil
}

// Drain reads every ring empty without waiting.
func (r *Reader) Drain(sample func([]byte), lost func(uint64)) {
	var peak uint64
	for _, rg := range r.rings {
		if n := r.drain(rg, sample, lost); n > peak {
			peak = n
		}
	}
	if peak > 0 {
		r.noteRead(peak, time.Now())
	}
}

// noteRead records a read that found samples, held bytes in the fullest
// ring, and sets the pacing of the next Wait.
func (r *Reader) noteRead(held uint64, now time.Time) {
	gap := now.Sub(r.lastRead)
	wasBusy := r.busy
	r.busy = !r.lastRead.IsZero() && gap <= 2*r.Batch
	r.lastRead = now
	if !r.busy || len(r.rings) == 0 {
		return
	}
	target := uint64(len(r.rings[0].data)) / 8
	switch {
	case !wasBusy:
		r.wait = firstWait
	case held > target:
		r.wait /= 2
	case held < target/2:
		r.wait *= 2
	}
	if gap > 0 && held > 0 {
		if fill := time.Duration(float64(gap) * float64(target) / float64(held)); fill < r.wait {
			r.wait = fill
		}
	}
	r.wait = min(max(r.wait, minWait), r.Batch)
}

// Record types and header size, from linux/perf_event.h.
const (
	recordLost   = unix.PERF_RECORD_LOST
	recordSample = unix.PERF_RECORD_SAMPLE
	headerSize   = 8
)

// drain reads one ring empty and returns how many bytes it held.
func (r *Reader) drain(rg *ring, sample func([]byte), lost func(uint64)) uint64 {
	head := atomic.LoadUint64(&rg.meta.Data_head)
	tail := rg.meta.Data_tail
	held := head - tail
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
	return held
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
	r.intrMu.Lock()
	defer r.intrMu.Unlock()
	for _, fd := range []*int{&r.epfd, &r.idlefd, &r.intrfd} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
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
