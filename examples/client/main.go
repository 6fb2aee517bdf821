// Command client is a thin MQTT 3.1 and 3.1.1 client built on mqttwire, in
// the manner of mosquitto_pub and mosquitto_sub:
//
//	client pub -t TOPIC -m MESSAGE [-q 0|1|2] [-r] [flags]
//	client sub -t FILTER [-t FILTER ...] [-q 0|1|2] [-v] [-C COUNT] [flags]
//
// Run "client pub -h" or "client sub -h" for the flags. Ctrl-C sends
// DISCONNECT and exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mqttwire/mqttwire"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills at once
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes of run.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

const usage = `usage:
  client pub -t TOPIC -m MESSAGE [-q 0|1|2] [-r] [flags]
  client sub -t FILTER [-t FILTER ...] [-q 0|1|2] [-v] [-C COUNT] [flags]
Run "client pub -h" or "client sub -h" for the flags.
`

// run runs the command line args (without the program name) until it is done
// or ctx is cancelled, which stands for Ctrl-C. It returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd := args[0]
	if cmd != "pub" && cmd != "sub" {
		if cmd != "-h" && cmd != "-help" && cmd != "--help" && cmd != "help" {
			fmt.Fprintf(stderr, "client: unknown command %q\n", cmd)
		}
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	o, err := parseFlags(cmd, args[1:], stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		if !errors.Is(err, errFlagParse) {
			fmt.Fprintf(stderr, "client %s: %v\n", cmd, err)
		}
		return exitUsage
	}
	if cmd == "pub" {
		return pub(ctx, o, stderr)
	}
	return sub(ctx, o, stdout, stderr)
}

// options are the parsed command line.
type options struct {
	cmd     string
	cfg     Config
	topics  []string
	message []byte
	qos     mqttwire.QoS
	retain  bool
	verbose bool
	count   int
}

// errFlagParse is a flag error the flag package has already reported.
var errFlagParse = errors.New("bad flags")

// parseFlags parses the flags of the command cmd, "pub" or "sub".
func parseFlags(cmd string, args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("client "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		topics      stringList
		qos         = qosValue(mqttwire.QoS0)
		version     = versionValue(mqttwire.V311)
		willQoS     = qosValue(mqttwire.QoS0)
		addr        = fs.String("addr", "localhost:1883", "server `host:port`")
		id          = fs.String("id", "", "client identifier (default mqttwire-RANDOM)")
		clean       = fs.Bool("clean", true, "clean session; -clean=false keeps the session on the server (give -id too)")
		keepalive   = fs.Int("keepalive", 60, "keep-alive in `seconds`: PINGREQ after this long idle; 0 turns it off")
		user        = fs.String("u", "", "user `name`")
		password    = fs.String("P", "", "`password` (needs -u)")
		willTopic   = fs.String("will-topic", "", "will `topic`, published by the server if the connection dies without DISCONNECT")
		willMessage = fs.String("will-message", "", "will `message`")
		willRetain  = fs.Bool("will-retain", false, "retain the will")
		retry       = fs.Duration("retry", DefaultRetryInterval, "resend an unacknowledged PUBLISH (with DUP), PUBREL or SUBSCRIBE after this `duration`")
		maxPacket   = fs.Int("max-packet", DefaultMaxPacketSize, "largest packet accepted from the server, in `bytes`; a bigger one ends the connection before it is read")
		message     = new(string)
		retain      = new(bool)
		verbose     = new(bool)
		count       = new(int)
	)
	fs.Var(&version, "V", "protocol `level`: 3 (MQTT 3.1, \"MQIsdp\") or 4 (MQTT 3.1.1)")
	fs.Var(&willQoS, "will-qos", "will `QoS`: 0, 1 or 2")
	if cmd == "pub" {
		fs.Var(&topics, "t", "`topic` to publish to")
		fs.Var(&qos, "q", "`QoS`: 0, 1 or 2")
		message = fs.String("m", "", "`message` to publish; -m '' sends an empty one, which with -r clears the retained message")
		retain = fs.Bool("r", false, "retain the message")
	} else {
		fs.Var(&topics, "t", "topic `filter` to subscribe to; repeat for more")
		fs.Var(&qos, "q", "`QoS` asked for: 0, 1 or 2")
		verbose = fs.Bool("v", false, "print QoS, retain and dup before each topic")
		count = fs.Int("C", 0, "disconnect and exit after this many messages; 0: run until Ctrl-C")
	}
	fs.Usage = func() {
		if cmd == "pub" {
			fmt.Fprintln(stderr, "usage: client pub -t TOPIC -m MESSAGE [-q 0|1|2] [-r] [flags]")
		} else {
			fmt.Fprintln(stderr, "usage: client sub -t FILTER [-t FILTER ...] [-q 0|1|2] [-v] [-C COUNT] [flags]")
		}
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errFlagParse
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case len(topics) == 0:
		return nil, errors.New("-t is required")
	case cmd == "pub" && len(topics) > 1:
		return nil, errors.New("pub takes one -t")
	case cmd == "pub" && !set["m"]:
		return nil, errors.New("-m is required (-m '' for an empty message)")
	case *keepalive < 0 || *keepalive > 65535:
		return nil, fmt.Errorf("-keepalive %d: want 0 to 65535", *keepalive)
	case set["P"] && !set["u"]:
		return nil, errors.New("-P needs -u [MQTT-3.1.2-22]")
	case !set["will-topic"] && (set["will-message"] || set["will-qos"] || set["will-retain"]):
		return nil, errors.New("--will-message, --will-qos and --will-retain need --will-topic")
	case *count < 0:
		return nil, errors.New("-C must not be negative")
	}

	o := &options{
		cmd:     cmd,
		topics:  topics,
		message: []byte(*message),
		qos:     mqttwire.QoS(qos),
		retain:  *retain,
		verbose: *verbose,
		count:   *count,
		cfg: Config{
			Addr:          *addr,
			ClientID:      *id,
			Version:       mqttwire.Version(version),
			CleanSession:  *clean,
			KeepAlive:     time.Duration(*keepalive) * time.Second,
			RetryInterval: *retry,
			MaxPacketSize: *maxPacket,
		},
	}
	if !set["id"] {
		o.cfg.ClientID = fmt.Sprintf("mqttwire-%08x", rand.Uint32()) // at most 23 characters, as 3.1 wants
	}
	if set["u"] {
		o.cfg.Username = []byte(*user)
	}
	if set["P"] {
		o.cfg.Password = []byte(*password)
	}
	if set["will-topic"] {
		o.cfg.Will = &Message{
			Topic:   *willTopic,
			Payload: []byte(*willMessage),
			QoS:     mqttwire.QoS(willQoS),
			Retain:  *willRetain,
		}
	}
	for _, t := range topics {
		var err error
		if cmd == "pub" {
			err = mqttwire.ValidateTopicName([]byte(t))
		} else {
			err = mqttwire.ValidateTopicFilter([]byte(t))
		}
		if err != nil {
			return nil, fmt.Errorf("-t %q: %v", t, err)
		}
	}
	return o, nil
}

// pub connects, publishes one message, waits for its exchange to complete,
// and disconnects.
func pub(ctx context.Context, o *options, stderr io.Writer) int {
	c, err := Connect(ctx, o.cfg)
	if err != nil {
		fmt.Fprintf(stderr, "client pub: connect to %s: %v\n", o.cfg.Addr, err)
		return exitError
	}
	err = c.Publish(ctx, Message{Topic: o.topics[0], Payload: o.message, QoS: o.qos, Retain: o.retain})
	if derr := c.Disconnect(); err == nil {
		err = derr
	}
	if err != nil {
		fmt.Fprintf(stderr, "client pub: %v\n", err)
		return exitError
	}
	return exitOK
}

// sub connects, subscribes, and prints each message as a line "topic
// payload" until ctx is cancelled, -C messages have come, or the connection
// is lost.
func sub(ctx context.Context, o *options, stdout, stderr io.Writer) int {
	enough := make(chan struct{})
	var once sync.Once
	received := 0
	var line []byte
	o.cfg.OnMessage = func(m Message) { // runs on the reader goroutine only
		if o.count > 0 && received >= o.count {
			return
		}
		received++
		line = appendLine(line[:0], m, o.verbose)
		stdout.Write(line)
		if o.count > 0 && received == o.count {
			once.Do(func() { close(enough) })
		}
	}
	c, err := Connect(ctx, o.cfg)
	if err != nil {
		if ctx.Err() != nil {
			return exitOK // Ctrl-C while connecting
		}
		fmt.Fprintf(stderr, "client sub: connect to %s: %v\n", o.cfg.Addr, err)
		return exitError
	}
	filters := make([]mqttwire.TopicFilter, len(o.topics))
	for i, t := range o.topics {
		filters[i] = mqttwire.TopicFilter{Topic: []byte(t), QoS: o.qos}
	}
	codes, err := c.Subscribe(ctx, filters...)
	if err != nil {
		c.Disconnect()
		if ctx.Err() != nil {
			return exitOK
		}
		fmt.Fprintf(stderr, "client sub: subscribe: %v\n", err)
		return exitError
	}
	refused := 0
	for i, code := range codes {
		switch {
		case code == mqttwire.SubackFailure:
			refused++
			fmt.Fprintf(stderr, "client sub: the server refused the subscription to %q\n", o.topics[i])
		case o.verbose:
			fmt.Fprintf(stderr, "client sub: subscribed to %q with QoS %d\n", o.topics[i], code)
		}
	}
	if refused == len(codes) {
		c.Disconnect()
		return exitError
	}

	select {
	case <-ctx.Done(): // Ctrl-C
	case <-enough:
	case <-c.Done():
		fmt.Fprintf(stderr, "client sub: %v\n", c.Err())
		return exitError
	}
	if err := c.Disconnect(); err != nil {
		fmt.Fprintf(stderr, "client sub: %v\n", err)
		return exitError
	}
	return exitOK
}

// appendLine appends the line sub prints for m: "topic payload", after
// "qos=Q retain=R dup=D " when verbose.
func appendLine(b []byte, m Message, verbose bool) []byte {
	if verbose {
		b = fmt.Appendf(b, "qos=%d retain=%d dup=%d ", m.QoS, bit(m.Retain), bit(m.Dup))
	}
	b = append(b, m.Topic...)
	b = append(b, ' ')
	b = append(b, m.Payload...)
	return append(b, '\n')
}

func bit(v bool) int {
	if v {
		return 1
	}
	return 0
}

// stringList is a flag that may be repeated.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ", ") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// qosValue is a QoS flag: 0, 1 or 2.
type qosValue mqttwire.QoS

func (q *qosValue) String() string { return strconv.Itoa(int(*q)) }

func (q *qosValue) Set(s string) error {
	switch s {
	case "0", "1", "2":
		*q = qosValue(s[0] - '0')
		return nil
	}
	return errors.New("want 0, 1 or 2")
}

// versionValue is the protocol level flag: 3 for MQTT 3.1, 4 for MQTT 3.1.1.
type versionValue mqttwire.Version

func (v *versionValue) String() string { return strconv.Itoa(int(*v)) }

func (v *versionValue) Set(s string) error {
	switch s {
	case "3", "31", "3.1", "mqttv31":
		*v = versionValue(mqttwire.V31)
	case "4", "311", "3.1.1", "mqttv311":
		*v = versionValue(mqttwire.V311)
	default:
		return errors.New("want 3 (MQTT 3.1) or 4 (MQTT 3.1.1)")
	}
	return nil
}
