package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// EnvVMGuest is set in the VM matrix's guests (scripts/vm/init).
const EnvVMGuest = "TCPV4CONNECT_VM_GUEST"

// FreePort returns a loopback TCP port that was free a moment ago (bound,
// then released), for a server the test starts.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Scrape reads addr's /metrics once, in the text format, by family name.
func Scrape(t testing.TB, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := TryScrape(addr)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// TryScrape is Scrape that returns its error.
func TryScrape(addr string) (map[string]*dto.MetricFamily, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: %s", addr, resp.Status)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: parse: %w", addr, err)
	}
	return fams, nil
}

// Sum adds up a family's counter samples (0 for a family not there).
func Sum(fams map[string]*dto.MetricFamily, name string) float64 {
	var sum float64
	if f := fams[name]; f != nil {
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// Labels renders a sample's labels as name=value pairs, sorted by name
// (as the exposition has them), comma-separated.
func Labels(m *dto.Metric) string {
	var b []string
	for _, l := range m.GetLabel() {
		b = append(b, l.GetName()+"="+l.GetValue())
	}
	return strings.Join(b, ",")
}

// Prometheus is a Prometheus server the test started.
type Prometheus struct {
	URL string // e.g. http://127.0.0.1:41234
	cmd *exec.Cmd
	log strings.Builder
}

// StartPrometheus starts Debian's prometheus server on a free loopback
// port, with a generated config that scrapes target (host:port) every
// second as job "tcpconnect", and stops it at cleanup. Without the server
// the test is skipped, or fails under CI=true (scripts/setup.sh
// --prometheus installs it), except in the VM matrix's guests, whose
// initramfs has no room for one (EnvVMGuest): the host rows run it.
func StartPrometheus(t testing.TB, target string) *Prometheus {
	t.Helper()
	if os.Getenv(EnvVMGuest) != "" {
		t.Skip("no prometheus server in the VM guest (the host rows of make vmtest run this test)")
	}
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("prometheus is not installed (scripts/setup.sh --prometheus): %v", err)
		}
		t.Skipf("prometheus is not installed (scripts/setup.sh --prometheus)")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "prometheus.yml")
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: tcpconnect
    static_configs:
      - targets: [%q]
`, target)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	listen := net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
	p := &Prometheus{URL: "http://" + listen}
	p.cmd = exec.Command(bin, "--config.file="+conf, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listen, "--log.level=warn")
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after 60s: %v\n%s", err, p.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// api GETs a Prometheus HTTP API path and decodes its data.
func (p *Prometheus) api(t testing.TB, path string, q url.Values, data any) {
	t.Helper()
	resp, err := http.Get(p.URL + path + "?" + q.Encode())
	if err != nil {
		t.Fatalf("prometheus %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var env struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Status != "success" {
		t.Fatalf("prometheus %s %s: %v %s %s", path, q.Encode(), err, env.Error, body)
	}
	if err := json.Unmarshal(env.Data, data); err != nil {
		t.Fatalf("prometheus %s: %v", path, err)
	}
}

// Query runs an instant PromQL query and returns each sample of the
// vector: its labels (as Labels renders them, without __name__) and
// value.
func (p *Prometheus) Query(t testing.TB, promql string) map[string]float64 {
	t.Helper()
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	p.api(t, "/api/v1/query", url.Values{"query": {promql}}, &data)
	if data.ResultType != "vector" {
		t.Fatalf("query %s: result %s, want a vector", promql, data.ResultType)
	}
	out := map[string]float64{}
	for _, r := range data.Result {
		m := &dto.Metric{}
		var names []string
		for k := range r.Metric {
			if k != "__name__" && k != "job" && k != "instance" {
				names = append(names, k)
			}
		}
		slices.Sort(names)
		for _, k := range names {
			k, v := k, r.Metric[k]
			m.Label = append(m.Label, &dto.LabelPair{Name: &k, Value: &v})
		}
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("query %s: value %v", promql, r.Value)
		}
		out[Labels(m)] = v
	}
	return out
}

// WaitScrapedAfter waits until Prometheus has finished a successful
// scrape of its target that began after since.
func (p *Prometheus) WaitScrapedAfter(t testing.TB, since time.Time) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var data struct {
			ActiveTargets []struct {
				Health     string    `json:"health"`
				LastScrape time.Time `json:"lastScrape"`
				LastError  string    `json:"lastError"`
			} `json:"activeTargets"`
		}
		p.api(t, "/api/v1/targets", url.Values{"state": {"active"}}, &data)
		if len(data.ActiveTargets) == 1 {
			tg := data.ActiveTargets[0]
			if tg.Health == "up" && tg.LastScrape.After(since) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no successful scrape after %s in 60s: %+v", since.Format(time.RFC3339Nano), tg)
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("prometheus has %d targets, want 1", len(data.ActiveTargets))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
