module github.com/tcpv4connect/tcpv4connect

go 1.23

require (
	github.com/alecthomas/kong v1.17.0
	github.com/aquasecurity/libbpfgo v0.7.0-libbpf-1.4
	golang.org/x/sys v0.30.0
)
