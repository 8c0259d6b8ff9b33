package broker

import (
	"net"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// reqContext is what a handler knows about the request besides its body.
type reqContext struct {
	hdr      requestHeader
	listener string // the listener name the connection came in on
	remote   net.Addr
}

// reply is what a handler gives back.
type reply struct {
	resp  kmsg.Response        // the response (nil with none or later)
	later <-chan kmsg.Response // a response that completes asynchronously (long-poll fetch, acks=all)
	none  bool                 // no response at all (acks=0 produce)
	close error                // close the connection once earlier responses are written
	// release runs after the response is encoded: buffers the response
	// borrowed (fetched records) go back to their pool.
	release func()
}

func respond(r kmsg.Response) reply { return reply{resp: r} }

type handlerFunc func(b *Broker, rc *reqContext, req kmsg.Request) reply

type apiEntry struct {
	min, max int16
	handle   handlerFunc
}

// apis is the one table of served API keys and versions: each handler file
// registers its key with regKey, and ApiVersions is built from this table,
// so what is advertised and what is served cannot drift.
var apis = map[int16]apiEntry{}

func regKey[R kmsg.Request](key kmsg.Key, min, max int16, h func(*Broker, *reqContext, R) reply) {
	if _, dup := apis[int16(key)]; dup {
		panic("broker: api key registered twice: " + key.Name())
	}
	if max > kmsg.RequestForKey(int16(key)).MaxVersion() {
		panic("broker: " + key.Name() + " registered above what kmsg can decode")
	}
	apis[int16(key)] = apiEntry{min: min, max: max, handle: func(b *Broker, rc *reqContext, req kmsg.Request) reply {
		return h(b, rc, req.(R))
	}}
}

// supported reports whether key and version are served.
func supported(key, version int16) bool {
	e, ok := apis[key]
	return ok && version >= e.min && version <= e.max
}

// apiVersionsKeys is the ApiVersions api_keys list, sorted by key.
func apiVersionsKeys() []kmsg.ApiVersionsResponseApiKey {
	out := make([]kmsg.ApiVersionsResponseApiKey, 0, len(apis))
	for k, e := range apis {
		out = append(out, kmsg.ApiVersionsResponseApiKey{ApiKey: k, MinVersion: e.min, MaxVersion: e.max})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ApiKey < out[j].ApiKey })
	return out
}
