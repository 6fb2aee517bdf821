package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mqttwire/mqttwire"
)

// acl holds the rules of the -acl file. The file has one rule per line:
//
//	deny subscribe FILTER
//	deny publish FILTER
//
// Blank lines and lines starting with '#' are ignored. A "deny subscribe"
// rule keeps every topic it matches from being delivered to anyone, and
// refuses a SUBSCRIBE whose filter matches only such topics. A "deny publish"
// rule makes the broker acknowledge and drop every PUBLISH to a topic it
// matches. The zero value denies nothing.
type acl struct {
	subscribe [][]byte
	publish   [][]byte
}

// loadACL reads the ACL file at path.
func loadACL(path string) (*acl, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := parseACL(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// parseACL reads ACL rules from r.
func parseACL(r io.Reader) (*acl, error) {
	a := &acl{}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) != 3 || fields[0] != "deny" {
			return nil, fmt.Errorf("line %d: want \"deny subscribe FILTER\" or \"deny publish FILTER\"", line)
		}
		filter := []byte(fields[2])
		if err := mqttwire.ValidateTopicFilter(filter); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		switch fields[1] {
		case "subscribe":
			a.subscribe = append(a.subscribe, filter)
		case "publish":
			a.publish = append(a.publish, filter)
		default:
			return nil, fmt.Errorf("line %d: unknown action %q (want subscribe or publish)", line, fields[1])
		}
	}
	return a, sc.Err()
}

// denyPublish reports whether a PUBLISH to topic must be dropped.
func (a *acl) denyPublish(topic []byte) bool {
	for _, f := range a.publish {
		if mqttwire.MatchTopic(f, topic) {
			return true
		}
	}
	return false
}

// denyReceive reports whether messages on topic must not be delivered.
func (a *acl) denyReceive(topic []byte) bool {
	for _, f := range a.subscribe {
		if mqttwire.MatchTopic(f, topic) {
			return true
		}
	}
	return false
}

// denySubscribe reports whether a SUBSCRIBE to filter must be refused: a
// "deny subscribe" rule covers every topic the filter can match.
func (a *acl) denySubscribe(filter []byte) bool {
	for _, rule := range a.subscribe {
		if covers(rule, filter) {
			return true
		}
	}
	return false
}

// covers reports whether every topic that filter f matches is matched by
// rule, both valid topic filters. A '#' in the rule covers whatever is left of
// f; a '+' covers any single level of f but "#"; other levels must be equal.
func covers(rule, f []byte) bool {
	if len(f) > 0 && f[0] == '$' && (rule[0] == '+' || rule[0] == '#') {
		return false // wildcards at the start never match '$' topics [MQTT-4.7.2-1]
	}
	for {
		r, rrest, rmore := bytes.Cut(rule, []byte{'/'})
		l, frest, fmore := bytes.Cut(f, []byte{'/'})
		switch {
		case string(r) == "#":
			return true
		case string(l) == "#":
			return false // f goes on below where the rule stops being a wildcard
		case string(r) == "+" || string(r) == string(l):
		default:
			return false
		}
		if !rmore || !fmore {
			// "a/#" as a rule also covers "a".
			return rmore == fmore || (rmore && string(rrest) == "#")
		}
		rule, f = rrest, frest
	}
}
