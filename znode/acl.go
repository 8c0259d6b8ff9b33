package znode

import (
	"crypto/sha1"
	"encoding/base64"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/zabkafka/zabkafka/jute"
)

// Predefined ACL lists (ZooDefs.Ids).
var (
	OpenACLUnsafe = []jute.ACL{{Perms: jute.PermAll, ID: AnyoneID}}
	ReadACLUnsafe = []jute.ACL{{Perms: jute.PermRead, ID: AnyoneID}}
	AnyoneID      = jute.ID{Scheme: "world", ID: "anyone"}
)

// DigestID returns the digest identity for "user:password" credentials, the
// way DigestAuthenticationProvider.generateDigest does: the user name, a
// colon, and base64(SHA-1("user:password")).
// Credentials without a colon are a user name with an empty password part,
// as generateDigest splits them.
func DigestID(userPassword string) (string, bool) {
	user, _, _ := strings.Cut(userPassword, ":")
	sum := sha1.Sum([]byte(userPassword))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:]), true
}

// CheckACL reports whether a caller holding ids may perform perm on a node
// with this ACL (ZooKeeperServer.checkACL): an empty list allows everything,
// a super identity allows everything, otherwise some entry must grant the perm
// to world:anyone or to one of the caller's identities.
func CheckACL(acl []jute.ACL, perm int32, ids []jute.ID) bool {
	if len(acl) == 0 {
		return true
	}
	for _, id := range ids {
		if id.Scheme == "super" {
			return true
		}
	}
	for _, a := range acl {
		if a.Perms&perm == 0 {
			continue
		}
		if a.ID.Scheme == "world" && a.ID.ID == "anyone" {
			return true
		}
		for _, id := range ids {
			if id.Scheme == a.ID.Scheme && idMatches(id, a.ID.ID) {
				return true
			}
		}
	}
	return false
}

func idMatches(id jute.ID, aclExpr string) bool {
	if id.Scheme != "ip" {
		return id.ID == aclExpr
	}
	addr, err := netip.ParseAddr(id.ID)
	if err != nil {
		return false
	}
	if pfx, err := netip.ParsePrefix(aclExpr); err == nil {
		return pfx.Contains(addr)
	}
	want, err := netip.ParseAddr(aclExpr)
	return err == nil && want == addr
}

// validACLID reports whether the id is well formed for its scheme
// (AuthenticationProvider.isValid). Unknown schemes are invalid.
func validACLID(id jute.ID) bool {
	switch id.Scheme {
	case "world":
		return id.ID == "anyone"
	case "digest":
		// DigestAuthenticationProvider.isValid: id.split(":") has exactly
		// two parts, and Java's split drops trailing empty strings.
		return len(javaSplit(id.ID, ":")) == 2
	case "ip":
		if _, err := netip.ParsePrefix(id.ID); err == nil {
			return true
		}
		_, err := netip.ParseAddr(id.ID)
		return err == nil
	}
	// No provider for the scheme (super, sasl and x509 have none by
	// default): the ACL is invalid.
	return false
}

// javaSplit is String.split for a literal separator: trailing empty strings
// are removed.
func javaSplit(s, sep string) []string {
	parts := strings.Split(s, sep)
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// FixupACL validates an ACL list from a create or setACL request and expands
// the "auth" scheme into the caller's authenticated identities, as
// PrepRequestProcessor.fixupACL does. Duplicates are removed.
func FixupACL(acl []jute.ACL, authIDs []jute.ID) ([]jute.ACL, bool) {
	if len(acl) == 0 {
		return nil, false
	}
	out := make([]jute.ACL, 0, len(acl))
	for _, a := range acl {
		if a.ID.Scheme == "auth" {
			added := false
			for _, id := range authIDs {
				// Only identities a client proved count: ip and super do not
				// become ACL entries (their providers are not "authenticated").
				if id.Scheme == "ip" || id.Scheme == "super" {
					continue
				}
				out = append(out, jute.ACL{Perms: a.Perms, ID: id})
				added = true
			}
			if !added {
				return nil, false
			}
			continue
		}
		if !validACLID(a.ID) {
			return nil, false
		}
		out = append(out, a)
	}
	return dedupACL(out), true
}

func dedupACL(acl []jute.ACL) []jute.ACL {
	out := acl[:0]
	for i, a := range acl {
		if !slices.Contains(acl[:i], a) {
			out = append(out, a)
		}
	}
	return out
}

// MaskACL hides digest hashes from callers without ADMIN permission, as
// getACL does ("user:x").
func MaskACL(acl []jute.ACL) []jute.ACL {
	out := make([]jute.ACL, len(acl))
	for i, a := range acl {
		if a.ID.Scheme == "digest" {
			if user, _, ok := strings.Cut(a.ID.ID, ":"); ok {
				a.ID.ID = user + ":x"
			}
		}
		out[i] = a
	}
	return out
}

// aclCache interns ACL lists so that the many nodes sharing one list (most
// trees use a handful) share one slice, and counts references so lists no
// node uses any more are dropped, as ReferenceCountedACLCache does; without
// the count, clients setting distinct ACLs could grow memory without bound.
// Interned slices are never modified.
type aclCache struct {
	lists map[string]*aclEntry
}

type aclEntry struct {
	list []jute.ACL
	refs int
}

func aclKey(acl []jute.ACL) string {
	var b strings.Builder
	for _, a := range acl {
		b.WriteString(strconv.Itoa(int(a.Perms)))
		b.WriteByte(0)
		b.WriteString(a.ID.Scheme)
		b.WriteByte(0)
		b.WriteString(a.ID.ID)
		b.WriteByte(0)
	}
	return b.String()
}

// intern returns the shared copy of acl and takes a reference to it.
func (c *aclCache) intern(acl []jute.ACL) []jute.ACL {
	if c.lists == nil {
		c.lists = make(map[string]*aclEntry)
	}
	k := aclKey(acl)
	e, ok := c.lists[k]
	if !ok {
		e = &aclEntry{list: slices.Clone(acl)}
		c.lists[k] = e
	}
	e.refs++
	return e.list
}

// release drops a reference taken by intern.
func (c *aclCache) release(acl []jute.ACL) {
	k := aclKey(acl)
	if e, ok := c.lists[k]; ok {
		if e.refs--; e.refs <= 0 {
			delete(c.lists, k)
		}
	}
}

// size is the number of distinct lists held.
func (c *aclCache) size() int { return len(c.lists) }
