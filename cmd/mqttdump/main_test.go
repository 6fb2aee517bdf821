package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mqttwire/mqttwire"
)

// jsonLines parses mqttdump -json output.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, l)
		}
		objs = append(objs, m)
	}
	return objs
}

var port = strconv.Itoa(capturePort)

func TestJSON(t *testing.T) {
	out, _ := dump(t, "-json", "-port", port, filepath.Join(captureDir, "mqttjs.pcapng"))
	objs := jsonLines(t, out)
	first := objs[0]
	for _, k := range []string{"time", "frame", "src", "dst", "type", "size", "ClientID", "Version", "Password"} {
		if _, ok := first[k]; !ok {
			t.Errorf("CONNECT object has no %q: %v", k, first)
		}
	}
	if first["type"] != "CONNECT" || first["ClientID"] != "js-311" || first["Password"] != "***" ||
		first["WillTopic"] != "clients/js-311/will" || first["Version"] != 4.0 {
		t.Errorf("CONNECT: %v", first)
	}
	var sawBinary, sawSubscribe, sawSuback, sawUnsubscribe bool
	for _, o := range objs {
		switch o["type"] {
		case "PUBLISH":
			if o["Topic"] == "js/bin" {
				sawBinary = true
				if diff := cmp.Diff([]any{"Payload"}, o["base64"]); diff != "" {
					t.Errorf("binary payload not listed as base64: %s", diff)
				}
				b, err := base64.StdEncoding.DecodeString(o["Payload"].(string))
				if err != nil || !bytes.Equal(b, []byte{0x00, 0xff, 0xfe, 0x80, 0x41}) {
					t.Errorf("payload %q: %v", o["Payload"], err)
				}
			}
		case "SUBSCRIBE":
			sawSubscribe = true
			want := []any{
				map[string]any{"Topic": "js/+/temp", "QoS": 0.0},
				map[string]any{"Topic": "js/#", "QoS": 1.0},
				map[string]any{"Topic": "js/bin", "QoS": 2.0},
			}
			if diff := cmp.Diff(want, o["Filters"]); diff != "" {
				t.Errorf("Filters: %s", diff)
			}
		case "SUBACK":
			sawSuback = true
			if diff := cmp.Diff([]any{0.0, 1.0, 2.0}, o["ReturnCodes"]); diff != "" {
				t.Errorf("ReturnCodes: %s", diff)
			}
		case "UNSUBSCRIBE":
			sawUnsubscribe = true
			if diff := cmp.Diff([]any{"js/+/temp", "js/bin"}, o["Topics"]); diff != "" {
				t.Errorf("Topics: %s", diff)
			}
		}
	}
	if !sawBinary || !sawSubscribe || !sawSuback || !sawUnsubscribe {
		t.Errorf("missing packets: binary PUBLISH %v, SUBSCRIBE %v, SUBACK %v, UNSUBSCRIBE %v",
			sawBinary, sawSubscribe, sawSuback, sawUnsubscribe)
	}
}

func TestJSONErrorsAndEvents(t *testing.T) {
	out, _ := dump(t, "-json", "-port", port, filepath.Join(captureDir, "malformed.pcapng"))
	objs := jsonLines(t, out)
	if objs[0]["type"] != "CONNECT" || !strings.Contains(objs[0]["error"].(string), "MQTT-3.1.2-3") {
		t.Errorf("first object: %v", objs[0])
	}
	out, _ = dump(t, "-json", "-port", port, filepath.Join(captureDir, "gap.pcapng"))
	found := false
	for _, o := range jsonLines(t, out) {
		if o["type"] == "GAP" {
			found = true
			if o["missing"] != 1448.0 || o["packet"] != "PUBLISH" || o["size"] != 40016.0 {
				t.Errorf("GAP: %v", o)
			}
		}
	}
	if !found {
		t.Error("no GAP object")
	}
}

func TestSecrets(t *testing.T) {
	path := filepath.Join(captureDir, "mosquitto-v311.pcapng")
	masked, _ := dump(t, "-port", port, "-type", "CONNECT", "-client", "pub-will", path)
	if !strings.Contains(masked, "password=***") || strings.Contains(masked, "s3cret") {
		t.Errorf("masked: %s", masked)
	}
	shown, _ := dump(t, "-port", port, "-type", "CONNECT", "-client", "pub-will", "-show-secrets", path)
	if !strings.Contains(shown, `password="s3cret"`) {
		t.Errorf("-show-secrets: %s", shown)
	}
	js, _ := dump(t, "-json", "-port", port, "-type", "CONNECT", "-client", "pub-will", path)
	if strings.Contains(js, "s3cret") || !strings.Contains(js, `"Password":"***"`) {
		t.Errorf("-json: %s", js)
	}
}

func TestFilters(t *testing.T) {
	path := filepath.Join(captureDir, "mosquitto-v311.pcapng")
	count := func(out string) map[string]int {
		n := map[string]int{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if f := strings.Fields(l); len(f) > 6 {
				n[f[6]]++
			}
		}
		return n
	}
	out, _ := dump(t, "-port", port, "-type", "publish,puback", path)
	if got := count(out); len(got) != 2 || got["PUBLISH"] == 0 || got["PUBACK"] == 0 {
		t.Errorf("-type publish,puback: %v", got)
	}
	out, _ = dump(t, "-port", port, "-topic", "alerts/+/high", path)
	// The two PUBLISH to alerts/kitchen/high, and the SUBSCRIBE that names the filter.
	if got := count(out); got["PUBLISH"] != 2 || got["SUBSCRIBE"] != 1 || len(got) != 2 {
		t.Errorf("-topic alerts/+/high: %v\n%s", got, out)
	}
	out, _ = dump(t, "-port", port, "-topic", "sensors/#", path)
	if got := count(out); got["SUBSCRIBE"] != 2 || got["PUBLISH"] < 10 {
		t.Errorf("-topic sensors/#: %v", got)
	}
	out, _ = dump(t, "-port", port, "-client", "pub-q2", path)
	if got := count(out); got["CONNECT"] != 1 || got["PUBREL"] != 1 || got["PUBLISH"] != 1 {
		t.Errorf("-client pub-q2: %v", got)
	}
	// Flags may come after the file.
	out, _ = dump(t, path, "-port", port, "-type", "DISCONNECT")
	if got := count(out); got["DISCONNECT"] == 0 || len(got) != 1 {
		t.Errorf("flags after the file: %v", got)
	}
	// Port 0 takes every connection; the default, 1883, none of these.
	if out, _ := dump(t, "-port", "0", path); out == "" {
		t.Error("-port 0 found nothing")
	}
	if out, _ := dump(t, path); out != "" {
		t.Errorf("-port 1883 on a capture of port %s: %s", port, out)
	}
}

func TestStats(t *testing.T) {
	_, errOut := dump(t, "-stats", "-port", port, "-type", "PINGREQ", filepath.Join(captureDir, "large-publish.pcapng"))
	for _, want := range []string{"PUBLISH                 2           80032 bytes", "malformed                 0", "connections               2"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stats lack %q:\n%s", want, errOut)
		}
	}
}

func TestRawStdin(t *testing.T) {
	var in []byte
	for _, p := range []mqttwire.Packet{
		&mqttwire.Connect{Version: mqttwire.V31, CleanSession: true, ClientID: []byte("raw")},
		&mqttwire.Publish{QoS: 1, PacketID: 1, Topic: []byte("a/b"), Payload: []byte("hi")},
		&mqttwire.Disconnect{},
	} {
		in, _ = p.Append(in)
	}
	var out, errOut bytes.Buffer
	if status := run([]string{"-raw", "-"}, bytes.NewReader(in), &out, &errOut); status != 0 {
		t.Fatalf("exit status %d: %s", status, errOut.String())
	}
	want := `@0 CONNECT level=3 client="raw" clean=1 keepalive=0
@19 PUBLISH topic="a/b" qos=1 id=1 dup=0 retain=0 payload=2 "hi"
@30 DISCONNECT
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	out.Reset()
	run([]string{"-raw", "-", "-json"}, bytes.NewReader(in), &out, &errOut)
	if !strings.HasPrefix(out.String(), `{"offset":0,"type":"CONNECT","size":19,"Version":3,`) {
		t.Errorf("-raw -json: %s", out.String())
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-type", "nonsense", "x.pcap"},
		{"-topic", "a/#/b", "x.pcap"},
		{"-port", "70000", "x.pcap"},
		{"-raw", "-", "x.pcap"},
	} {
		var out, errOut bytes.Buffer
		if status := run(args, strings.NewReader(""), &out, &errOut); status != 2 {
			t.Errorf("%q: exit status %d, want 2", args, status)
		}
	}
	var out, errOut bytes.Buffer
	if status := run([]string{"/nonexistent.pcap"}, strings.NewReader(""), &out, &errOut); status != 1 {
		t.Errorf("missing file: exit status %d, want 1", status)
	}
	if status := run([]string{"main.go"}, strings.NewReader(""), &out, &errOut); status != 1 ||
		!strings.Contains(errOut.String(), "not a pcap or pcapng file") {
		t.Errorf("not a capture: exit status %d, %s", status, errOut.String())
	}
}
