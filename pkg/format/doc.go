// Package format renders decoded events for the terminal and for machines:
// bcc's columns byte for byte (Text, with its header, banner and count
// table) and one JSON object per line (JSON). Process names pass through
// one printable-rune rule in both, so that no output can steer a terminal.
package format
