package zkmeta

import (
	"encoding/base64"
	"fmt"
	"io"
	"strings"
)

// Uuid is Kafka's org.apache.kafka.common.Uuid: 128 bits rendered as
// URL-safe base64 without padding (22 characters). Topic ids (KIP-516) and
// the cluster id use it.
type Uuid [16]byte

// ZeroUuid is Uuid.ZERO_UUID, which Kafka uses for "no topic id".
var ZeroUuid Uuid

// MetadataTopicID is Uuid.METADATA_TOPIC_ID (0, 1), reserved for KRaft's
// __cluster_metadata and never handed out.
var MetadataTopicID = Uuid{15: 1}

// String renders the id as Uuid.toString does.
func (u Uuid) String() string { return base64.RawURLEncoding.EncodeToString(u[:]) }

// IsZero reports whether u is ZeroUuid.
func (u Uuid) IsZero() bool { return u == ZeroUuid }

// ParseUuid parses Uuid.fromString's input: 22 characters of URL-safe base64
// (Kafka also accepts padding; so does this).
func ParseUuid(s string) (Uuid, error) {
	var u Uuid
	b, err := base64.RawURLEncoding.Strict().DecodeString(strings.TrimSuffix(s, "=="))
	if err != nil || len(b) != len(u) {
		return u, invalid("%q is not a base64 Kafka Uuid", s)
	}
	copy(u[:], b)
	return u, nil
}

// NewUuid returns a random Uuid as Uuid.randomUuid does: a version 4
// java.util.UUID, drawn again while it is the zero id, the metadata topic id,
// or renders with a leading '-' (which would read as a command-line flag).
// rand is the caller's randomness (crypto/rand.Reader in production, a seeded
// reader in tests).
func NewUuid(rand io.Reader) (Uuid, error) {
	for {
		var u Uuid
		if _, err := io.ReadFull(rand, u[:]); err != nil {
			return u, fmt.Errorf("zkmeta: reading randomness for a uuid: %w", err)
		}
		u[6] = u[6]&0x0f | 0x40 // version 4, as UUID.randomUUID
		u[8] = u[8]&0x3f | 0x80 // IETF variant
		if u != ZeroUuid && u != MetadataTopicID && !strings.HasPrefix(u.String(), "-") {
			return u, nil
		}
	}
}
