package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Path is where the series are served.
const Path = "/metrics"

// ParseAddr checks a --metrics address and returns the one to listen on.
// An empty host means 127.0.0.1; "localhost" too (names are not resolved
// otherwise). A host that is not loopback, 0.0.0.0 and [::] included,
// serves the series to the network: only with public set.
func ParseAddr(addr string, public bool) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("malformed address %q: want HOST:PORT, e.g. 127.0.0.1:9464 or :9464", addr)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "", fmt.Errorf("malformed address %q: the port must be a number from 1 to 65535", addr)
	}
	switch host {
	case "", "localhost":
		host = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" {
		return "", fmt.Errorf("malformed address %q: the host must be an IP address (or empty, for 127.0.0.1)", addr)
	}
	if !ip.IsLoopback() && !public {
		return "", fmt.Errorf("%s is not a loopback address: the metrics would be served to the network; add --metrics-public if that is meant", addr)
	}
	return net.JoinHostPort(ip.String(), port), nil
}

// Listen binds addr. Called before the tracer is loaded, so that a taken
// port is reported as bad input before anything is attached.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		// The address is named once, by the caller: only the cause.
		var errno syscall.Errno
		if errors.As(err, &errno) {
			return nil, errno
		}
		return nil, err
	}
	return ln, nil
}

// Server serves a Set, and the process's own CPU and memory series, at
// Path.
type Server struct {
	srv  *http.Server
	done chan error
	once sync.Once
	err  error
}

// Serve starts serving s on ln, in the background.
func Serve(ln net.Listener, s *Set) *Server {
	reg := prometheus.NewRegistry()
	reg.MustRegister(s, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle(Path, promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	sv := &Server{
		srv: &http.Server{
			Handler: mux,
			// A client that never sends its headers must not hold
			// a connection (and a goroutine) for good.
			ReadHeaderTimeout: 10 * time.Second,
		},
		done: make(chan error, 1),
	}
	go func() { sv.done <- sv.srv.Serve(ln) }()
	return sv
}

// Shutdown stops the server: scrapes in progress get up to grace to
// finish, then every connection is closed. The listener is closed either
// way. It returns Serve's error, if it failed for another reason. Calls
// after the first return the first's result.
func (sv *Server) Shutdown(grace time.Duration) error {
	sv.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		if err := sv.srv.Shutdown(ctx); err != nil {
			_ = sv.srv.Close()
		}
		if err := <-sv.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			sv.err = fmt.Errorf("metrics server: %w", err)
		}
	})
	return sv.err
}
