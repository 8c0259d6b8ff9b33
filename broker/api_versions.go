package broker

// ApiVersions, key 18, versions 0-3. The response header is v0 even for the
// flexible v3 (the client must read it before it knows our versions). A
// version we do not serve is answered with a v0 body, UNSUPPORTED_VERSION
// and the full key list, so the client can retry with one we do
// (KafkaApis.handleApiVersionsRequest); v3 checks the client software name
// and version (INVALID_REQUEST).

import (
	"regexp"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { regKey(kmsg.ApiVersions, 0, 3, handleApiVersionsTyped) }

// softwareRE is ApiVersionsRequest.isValid's pattern for
// client_software_name and client_software_version.
var softwareRE = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$`)

// handleApiVersions is called for every ApiVersions version, served or not.
func handleApiVersions(b *Broker, rc *reqContext, req kmsg.Request) reply {
	return handleApiVersionsTyped(b, rc, req.(*kmsg.ApiVersionsRequest))
}

func handleApiVersionsTyped(b *Broker, rc *reqContext, req *kmsg.ApiVersionsRequest) reply {
	if !supported(int16(kmsg.ApiVersions), rc.hdr.Version) {
		resp := kmsg.NewPtrApiVersionsResponse()
		resp.Version = 0
		resp.ErrorCode = kerr.UnsupportedVersion.Code
		resp.ApiKeys = apiVersionsKeys()
		return respond(resp)
	}
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	if rc.hdr.Version >= 3 && (!softwareRE.MatchString(req.ClientSoftwareName) || !softwareRE.MatchString(req.ClientSoftwareVersion)) {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return respond(resp)
	}
	resp.ApiKeys = apiVersionsKeys()
	return respond(resp)
}
