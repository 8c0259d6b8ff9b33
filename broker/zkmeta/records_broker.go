package zkmeta

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// BrokerInfo is the registration a broker writes to its ephemeral
// /brokers/ids/<id> (BrokerIdZNode, BrokerInfo in ZkData.scala).
type BrokerInfo struct {
	ID int32 // not stored in the JSON: the znode name

	// Version is the JSON version: 5 for inter.broker.protocol.version
	// >= 2.7 (what Encode writes when 0), 4 for >= 0.10.0, else 2.
	// Decode accepts 1..5.
	Version int32
	// Endpoints are the advertised listeners in order.
	Endpoints []Endpoint
	// Rack is broker.rack; "" means none (the key is omitted).
	Rack string
	// JmxPort is -1 when JMX is off.
	JmxPort int32
	// TimestampMs is the registration time in ms; it is written as a JSON
	// string, as Kafka does.
	TimestampMs int64
	// Features are the supported feature ranges (v5); usually empty in ZK
	// mode.
	Features map[string]SupportedVersionRange
}

// Endpoint is one advertised listener, written as "LISTENER://host:port".
type Endpoint struct {
	Listener         string // listener name, e.g. "PLAINTEXT", "CLIENT"
	SecurityProtocol string // PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL
	Host             string
	Port             int32
}

// SupportedVersionRange is one entry of a broker's v5 "features" map.
type SupportedVersionRange struct {
	MinVersion int16 `json:"min_version"`
	MaxVersion int16 `json:"max_version"`
}

// Security protocols Kafka knows (SecurityProtocol.java).
var securityProtocols = map[string]bool{"PLAINTEXT": true, "SSL": true, "SASL_PLAINTEXT": true, "SASL_SSL": true}

// ConnectionString renders the endpoint as EndPoint.connectionString does:
// IPv6 hosts in brackets, an empty host as "LISTENER://:port".
func (e Endpoint) ConnectionString() string {
	hostport := ":" + itoa(e.Port)
	if e.Host != "" {
		if strings.Contains(e.Host, ":") {
			hostport = "[" + e.Host + "]" + hostport
		} else {
			hostport = e.Host + hostport
		}
	}
	return e.Listener + "://" + hostport
}

// endpointRE is EndPoint's uriParseExp: LISTENER://host:port, host possibly
// in brackets.
var endpointRE = regexp.MustCompile(`^(.*)://\[?([0-9a-zA-Z\-%._:]*)\]?:(-?[0-9]+)$`)

// ParseEndpoint parses "LISTENER://host:port". protocols maps listener names
// to security protocols (the registration's listener_security_protocol_map);
// when nil, the listener name must itself be a security protocol, as for
// registrations older than v4.
func ParseEndpoint(s string, protocols map[string]string) (Endpoint, error) {
	m := endpointRE.FindStringSubmatch(s)
	if m == nil {
		return Endpoint{}, invalid("endpoint %q is not LISTENER://host:port", s)
	}
	port, err := strconv.ParseInt(m[3], 10, 32)
	if err != nil || port < -1 || port > 65535 {
		return Endpoint{}, invalid("endpoint %q: bad port", s)
	}
	e := Endpoint{Listener: m[1], Host: m[2], Port: int32(port)}
	if protocols != nil {
		e.SecurityProtocol = protocols[e.Listener]
	} else {
		e.SecurityProtocol = e.Listener
	}
	if !securityProtocols[e.SecurityProtocol] {
		return Endpoint{}, invalid("endpoint %q: no security protocol for listener %q", s, e.Listener)
	}
	return e, nil
}

// plaintextEndpoint is what Kafka puts in the legacy host/port keys: the
// first PLAINTEXT endpoint, or host null and port -1.
func (b *BrokerInfo) plaintextEndpoint() (*string, int32) {
	for _, e := range b.Endpoints {
		if e.SecurityProtocol == "PLAINTEXT" {
			h := e.Host
			return &h, e.Port
		}
	}
	return nil, -1
}

// Validate checks what Kafka would refuse to register.
func (b *BrokerInfo) Validate() error {
	if b.ID < 0 {
		return invalid("broker id %d is negative", b.ID)
	}
	switch b.Version {
	case 0, 2, 4, 5:
	default:
		return invalid("broker registration version %d is not 2, 4 or 5", b.Version)
	}
	if len(b.Endpoints) == 0 {
		return invalid("broker %d has no endpoints", b.ID)
	}
	seen := map[string]bool{}
	for _, e := range b.Endpoints {
		if e.Listener == "" || strings.ContainsAny(e.Listener, ":/,") {
			return invalid("broker %d: bad listener name %q", b.ID, e.Listener)
		}
		if seen[e.Listener] {
			return invalid("broker %d: listener %q appears twice", b.ID, e.Listener)
		}
		seen[e.Listener] = true
		if !securityProtocols[e.SecurityProtocol] {
			return invalid("broker %d: listener %q has unknown security protocol %q", b.ID, e.Listener, e.SecurityProtocol)
		}
		if e.Port < 0 || e.Port > 65535 {
			return invalid("broker %d: listener %q has port %d", b.ID, e.Listener, e.Port)
		}
	}
	return nil
}

// EncodeBrokerInfo renders the registration JSON as BrokerIdZNode.encode
// does, e.g. (v5):
//
//	{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},
//	 "endpoints":["PLAINTEXT://10.0.0.1:9092"],"jmx_port":-1,"port":9092,
//	 "host":"10.0.0.1","version":5,"timestamp":"1700000000000"}
//
// rack (v3+) follows endpoints when set; v2 has neither the protocol map nor
// features.
func EncodeBrokerInfo(b *BrokerInfo) ([]byte, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	version := b.Version
	if version == 0 {
		version = 5
	}
	w := newJSONWriter()
	if version >= 5 {
		f := []byte{'{'}
		names := make([]string, 0, len(b.Features))
		for n := range b.Features {
			names = append(names, n)
		}
		slices.Sort(names)
		for i, n := range names {
			if i > 0 {
				f = append(f, ',')
			}
			r := b.Features[n]
			f = appendJSONString(f, n)
			f = append(f, `:{"min_version":`...)
			f = strconv.AppendInt(f, int64(r.MinVersion), 10)
			f = append(f, `,"max_version":`...)
			f = strconv.AppendInt(f, int64(r.MaxVersion), 10)
			f = append(f, '}')
		}
		w.raw("features", append(f, '}'))
	}
	if version >= 4 {
		m := make(map[string]string, len(b.Endpoints))
		for _, e := range b.Endpoints {
			m[e.Listener] = e.SecurityProtocol
		}
		w.raw("listener_security_protocol_map", appendStringMap(nil, m))
	}
	eps := []byte{'['}
	for i, e := range b.Endpoints {
		if i > 0 {
			eps = append(eps, ',')
		}
		eps = appendJSONString(eps, e.ConnectionString())
	}
	w.raw("endpoints", append(eps, ']'))
	if b.Rack != "" {
		w.str("rack", b.Rack)
	}
	w.int("jmx_port", int64(b.JmxPort))
	host, port := b.plaintextEndpoint()
	w.int("port", int64(port))
	w.nullableStr("host", host)
	w.int("version", int64(version))
	w.str("timestamp", strconv.FormatInt(b.TimestampMs, 10))
	return w.bytes(), nil
}

// DecodeBrokerInfo parses a registration of any version Kafka has written
// (1..5), as BrokerIdZNode.decode does: v1 has only host/port (PLAINTEXT);
// v2+ lists endpoints, resolved through listener_security_protocol_map when
// present. The timestamp, which Kafka itself never reads back, is accepted as
// a string or a number.
func DecodeBrokerInfo(id int32, data []byte) (*BrokerInfo, error) {
	const rec = "broker registration"
	o := parseObject(rec, data)
	b := &BrokerInfo{ID: id}
	b.Version = o.version(1, 5)
	b.JmxPort = o.int32("jmx_port")
	if ts, ok := o.lookup("timestamp", false); ok {
		s := trimQuotes(ts)
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			o.fail(badData(rec, "field \"timestamp\": %s is not a decimal integer", truncate(ts)))
		}
		b.TimestampMs = n
	}
	if o.has("rack") {
		b.Rack, _ = o.optStr("rack")
	}
	if o.has("features") {
		var f map[string]SupportedVersionRange
		if o.decode("features", false, "an object of version ranges", &f) && len(f) > 0 {
			b.Features = f
		}
	}
	if o.err != nil {
		return nil, o.err
	}
	if b.Version == 1 {
		host := o.str("host")
		port := o.int32("port")
		if o.err != nil {
			return nil, o.err
		}
		b.Endpoints = []Endpoint{{Listener: "PLAINTEXT", SecurityProtocol: "PLAINTEXT", Host: host, Port: port}}
		return b, nil
	}
	var protocols map[string]string
	if o.has("listener_security_protocol_map") {
		o.decode("listener_security_protocol_map", true, "an object of strings", &protocols)
		if protocols == nil {
			protocols = map[string]string{}
		}
	}
	var eps []string
	o.decode("endpoints", true, "an array of strings", &eps)
	if o.err != nil {
		return nil, o.err
	}
	for _, s := range eps {
		e, err := ParseEndpoint(s, protocols)
		if err != nil {
			return nil, badData(rec, "%v", err)
		}
		b.Endpoints = append(b.Endpoints, e)
	}
	return b, nil
}
