package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// session is one running tracer. Its stdout is a pseudo-terminal, as when a
// user runs it interactively: the C and Python peers then flush each line,
// and their header appears as soon as it is printed. Its stderr is a pipe.
type session struct {
	t     *tool
	cmd   *exec.Cmd
	start time.Time

	ready      chan struct{} // closed when the ready line is seen
	readyAt    atomic.Int64  // ns after start
	firstEvAt  atomic.Int64  // ns after start: first canary connect reported
	firstEv    chan struct{}
	events     atomic.Uint64 // lines from connloop
	lines      atomic.Uint64 // all lines after the ready line
	lost       atomic.Uint64 // sum of per-occurrence loss reports
	lostTotal  atomic.Uint64 // final total, if the tool prints one
	lostSeen   atomic.Bool
	outDone    chan struct{}
	errDone    chan struct{}
	mu         sync.Mutex
	tailOut    []string
	tailErr    []string
	exitErr    error
	exited     chan struct{}
	readyOnce  sync.Once
	firstOnce  sync.Once
	canaryComm string
	probe      atomic.Pointer[prober] // display-latency prober, while one runs
}

// startSession starts t with its stdout on a new pty.
func startSession(t *tool, canaryComm string) (*session, error) {
	master, slave, err := openPty()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		master.Close()
		slave.Close()
		return nil, err
	}
	s := &session{
		t: t, ready: make(chan struct{}), firstEv: make(chan struct{}),
		outDone: make(chan struct{}), errDone: make(chan struct{}), exited: make(chan struct{}),
		canaryComm: canaryComm,
	}
	cmd := exec.Command(t.Argv[0], t.Argv[1:]...)
	cmd.Env = append(os.Environ(), t.Env...)
	cmd.Stdout = slave
	cmd.Stderr = errW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s.cmd = cmd
	s.start = time.Now()
	if err := cmd.Start(); err != nil {
		master.Close()
		slave.Close()
		errR.Close()
		errW.Close()
		return nil, fmt.Errorf("start %s: %w", t.Argv[0], err)
	}
	slave.Close()
	errW.Close()
	go s.readOut(master)
	go s.readErr(errR)
	go func() {
		s.exitErr = cmd.Wait()
		close(s.exited)
	}()
	return s, nil
}

func (s *session) markReady() {
	s.readyOnce.Do(func() {
		s.readyAt.Store(int64(time.Since(s.start)))
		close(s.ready)
	})
}

func (s *session) readOut(r *os.File) {
	defer close(s.outDone)
	defer r.Close()
	br := bufio.NewReaderSize(r, 256<<10)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			s.onOut(line)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil { // EIO once the tool exits
			return
		}
	}
}

func (s *session) onOut(line []byte) {
	line = bytes.TrimRight(line, "\r\n")
	// bpftrace reports loss on stdout.
	if m := s.t.Lost.FindSubmatch(line); m != nil {
		s.lost.Add(atoiU(string(m[1])))
		s.lostSeen.Store(true)
		return
	}
	select {
	case <-s.ready:
		s.lines.Add(1)
		if bytes.Contains(line, []byte(" "+probeComm+" ")) {
			if p := s.probe.Load(); p != nil {
				p.seen(time.Now())
			}
			return
		}
		if bytes.Contains(line, []byte(" connloop ")) {
			s.events.Add(1)
			return
		}
	default:
		if s.t.Ready.Match(line) {
			s.markReady()
		}
	}
	if s.canaryComm != "" && bytes.Contains(line, []byte(" "+s.canaryComm+" ")) {
		s.firstOnce.Do(func() {
			s.firstEvAt.Store(int64(time.Since(s.start)))
			close(s.firstEv)
		})
		return
	}
	s.keep(&s.tailOut, string(line))
}

func (s *session) readErr(r io.ReadCloser) {
	defer close(s.errDone)
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if s.t.Ready.MatchString(line) {
			s.markReady()
		}
		if m := s.t.Lost.FindStringSubmatch(line); m != nil {
			s.lost.Add(atoiU(m[1]))
			s.lostSeen.Store(true)
			continue
		}
		if s.t.LostTotal != nil {
			if m := s.t.LostTotal.FindStringSubmatch(line); m != nil {
				s.lostTotal.Store(atoiU(m[1]))
				continue
			}
		}
		s.keep(&s.tailErr, line)
	}
}

func (s *session) keep(tail *[]string, line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(*tail) >= 20 {
		copy(*tail, (*tail)[1:])
		*tail = (*tail)[:19]
	}
	*tail = append(*tail, line)
}

func (s *session) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "stdout: " + strings.Join(s.tailOut, " | ") + "\nstderr: " + strings.Join(s.tailErr, " | ")
}

func (s *session) pid() int { return s.cmd.Process.Pid }

// waitReady waits for the ready line, or fails if the tool exits first.
func (s *session) waitReady(timeout time.Duration) error {
	select {
	case <-s.ready:
		return nil
	case <-s.exited:
		<-s.errDone
		return fmt.Errorf("%s exited before it was ready (%v)\n%s", s.t.ID, s.exitErr, s.output())
	case <-time.After(timeout):
		return fmt.Errorf("%s not ready after %v\n%s", s.t.ID, timeout, s.output())
	}
}

// lostNow is the loss the tool has reported so far.
func (s *session) lostNow() uint64 {
	if s.lostSeen.Load() {
		return s.lost.Load()
	}
	return s.lostTotal.Load()
}

// stop sends SIGINT and waits for the tool to exit and its output to end.
func (s *session) stop(timeout time.Duration) error {
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Signal(syscall.SIGINT)
	}
	select {
	case <-s.exited:
	case <-time.After(timeout):
		_ = syscall.Kill(-s.pid(), syscall.SIGKILL)
		<-s.exited
		return fmt.Errorf("%s did not exit within %v of SIGINT", s.t.ID, timeout)
	}
	select {
	case <-s.outDone:
	case <-time.After(2 * time.Second):
	}
	<-s.errDone
	var ee *exec.ExitError
	if errors.As(s.exitErr, &ee) && !ee.Exited() {
		return nil // killed by the signal: bpftrace and python may do that
	}
	return nil
}

func openPty() (master, slave *os.File, err error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("unlockpt: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("ptsname: %w", err)
	}
	sfd, err := unix.Open(fmt.Sprintf("/dev/pts/%d", n), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("open pty slave: %w", err)
	}
	// Raw output: no \n -> \r\n, no echo.
	if tio, err := unix.IoctlGetTermios(sfd, unix.TCGETS); err == nil {
		tio.Oflag &^= unix.OPOST
		tio.Lflag &^= unix.ECHO | unix.ICANON
		_ = unix.IoctlSetTermios(sfd, unix.TCSETS, tio)
	}
	return os.NewFile(uintptr(fd), "ptmx"), os.NewFile(uintptr(sfd), "pts"), nil
}
