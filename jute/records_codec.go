package jute

// Codecs for the records in records.go, field by field in declaration order,
// as the Java classes generated from zookeeper.jute read and write them. The
// multi records are in multi_codec.go.

// Smallest wire size of one vector element, for Reader.Count: a hostile count
// is rejected unless the remaining input could hold that many elements.
const (
	minACLBytes        = 4 + 4 + 4 // perms, scheme, id
	minClientInfoBytes = 4 + 4     // authScheme, user
	minTxnBytes        = 4 + 4     // type, data
	statBytes          = 68        // the fixed size of a Stat
)

// ACLs reads a vector<ACL>; an empty vector reads as nil.
func (r *Reader) ACLs() []ACL {
	n := r.Count(minACLBytes)
	if n == 0 {
		return nil
	}
	out := make([]ACL, n)
	for i := range out {
		out[i].Decode(r)
	}
	return out
}

// ACLs writes a vector<ACL>; nil is written as an empty vector, like
// Writer.Strings.
func (w *Writer) ACLs(v []ACL) {
	w.Int(int32(len(v)))
	for i := range v {
		v[i].Encode(w)
	}
}

func (c *ConnectRequest) Encode(w *Writer) {
	w.Int(c.ProtocolVersion)
	w.Long(c.LastZxidSeen)
	w.Int(c.TimeOut)
	w.Long(c.SessionID)
	w.Buffer(c.Passwd)
	if c.HasReadOnly {
		w.Bool(c.ReadOnly)
	}
}

// Decode reads the five mandatory fields, then the readOnly byte if the frame
// has one, as 3.9's compat/ProtocolManager does.
func (c *ConnectRequest) Decode(r *Reader) {
	c.ProtocolVersion = r.Int()
	c.LastZxidSeen = r.Long()
	c.TimeOut = r.Int()
	c.SessionID = r.Long()
	c.Passwd = r.Buffer()
	c.HasReadOnly = r.Err() == nil && r.Len() > 0
	c.ReadOnly = c.HasReadOnly && r.Bool()
}

func (c *ConnectResponse) Encode(w *Writer) {
	w.Int(c.ProtocolVersion)
	w.Int(c.TimeOut)
	w.Long(c.SessionID)
	w.Buffer(c.Passwd)
	if c.HasReadOnly {
		w.Bool(c.ReadOnly)
	}
}

// Decode reads the four mandatory fields, then the readOnly byte if present.
func (c *ConnectResponse) Decode(r *Reader) {
	c.ProtocolVersion = r.Int()
	c.TimeOut = r.Int()
	c.SessionID = r.Long()
	c.Passwd = r.Buffer()
	c.HasReadOnly = r.Err() == nil && r.Len() > 0
	c.ReadOnly = c.HasReadOnly && r.Bool()
}

func (h *RequestHeader) Encode(w *Writer) {
	w.Int(h.Xid)
	w.Int(int32(h.Type))
}

func (h *RequestHeader) Decode(r *Reader) {
	h.Xid = r.Int()
	h.Type = OpCode(r.Int())
}

func (h *ReplyHeader) Encode(w *Writer) {
	w.Int(h.Xid)
	w.Long(h.Zxid)
	w.Int(int32(h.Err))
}

func (h *ReplyHeader) Decode(r *Reader) {
	h.Xid = r.Int()
	h.Zxid = r.Long()
	h.Err = ErrCode(r.Int())
}

func (s *Stat) Encode(w *Writer) {
	w.Long(s.Czxid)
	w.Long(s.Mzxid)
	w.Long(s.Ctime)
	w.Long(s.Mtime)
	w.Int(s.Version)
	w.Int(s.Cversion)
	w.Int(s.Aversion)
	w.Long(s.EphemeralOwner)
	w.Int(s.DataLength)
	w.Int(s.NumChildren)
	w.Long(s.Pzxid)
}

func (s *Stat) Decode(r *Reader) {
	s.Czxid = r.Long()
	s.Mzxid = r.Long()
	s.Ctime = r.Long()
	s.Mtime = r.Long()
	s.Version = r.Int()
	s.Cversion = r.Int()
	s.Aversion = r.Int()
	s.EphemeralOwner = r.Long()
	s.DataLength = r.Int()
	s.NumChildren = r.Int()
	s.Pzxid = r.Long()
}

func (id *ID) Encode(w *Writer) {
	w.String(id.Scheme)
	w.String(id.ID)
}

func (id *ID) Decode(r *Reader) {
	id.Scheme = r.String()
	id.ID = r.String()
}

func (a *ACL) Encode(w *Writer) {
	w.Int(a.Perms)
	a.ID.Encode(w)
}

func (a *ACL) Decode(r *Reader) {
	a.Perms = r.Int()
	a.ID.Decode(r)
}

func (c *CreateRequest) Encode(w *Writer) {
	w.String(c.Path)
	w.Buffer(c.Data)
	w.ACLs(c.ACL)
	w.Int(int32(c.Flags))
}

func (c *CreateRequest) Decode(r *Reader) {
	c.Path = r.String()
	c.Data = r.Buffer()
	c.ACL = r.ACLs()
	c.Flags = CreateMode(r.Int())
}

func (c *CreateTTLRequest) Encode(w *Writer) {
	w.String(c.Path)
	w.Buffer(c.Data)
	w.ACLs(c.ACL)
	w.Int(int32(c.Flags))
	w.Long(c.TTL)
}

func (c *CreateTTLRequest) Decode(r *Reader) {
	c.Path = r.String()
	c.Data = r.Buffer()
	c.ACL = r.ACLs()
	c.Flags = CreateMode(r.Int())
	c.TTL = r.Long()
}

func (c *CreateResponse) Encode(w *Writer) { w.String(c.Path) }
func (c *CreateResponse) Decode(r *Reader) { c.Path = r.String() }

func (c *Create2Response) Encode(w *Writer) {
	w.String(c.Path)
	c.Stat.Encode(w)
}

func (c *Create2Response) Decode(r *Reader) {
	c.Path = r.String()
	c.Stat.Decode(r)
}

func (d *DeleteRequest) Encode(w *Writer) {
	w.String(d.Path)
	w.Int(d.Version)
}

func (d *DeleteRequest) Decode(r *Reader) {
	d.Path = r.String()
	d.Version = r.Int()
}

func (e *ExistsRequest) Encode(w *Writer) {
	w.String(e.Path)
	w.Bool(e.Watch)
}

func (e *ExistsRequest) Decode(r *Reader) {
	e.Path = r.String()
	e.Watch = r.Bool()
}

func (e *ExistsResponse) Encode(w *Writer) { e.Stat.Encode(w) }
func (e *ExistsResponse) Decode(r *Reader) { e.Stat.Decode(r) }

func (g *GetDataRequest) Encode(w *Writer) {
	w.String(g.Path)
	w.Bool(g.Watch)
}

func (g *GetDataRequest) Decode(r *Reader) {
	g.Path = r.String()
	g.Watch = r.Bool()
}

func (g *GetDataResponse) Encode(w *Writer) {
	w.Buffer(g.Data)
	g.Stat.Encode(w)
}

func (g *GetDataResponse) Decode(r *Reader) {
	g.Data = r.Buffer()
	g.Stat.Decode(r)
}

func (s *SetDataRequest) Encode(w *Writer) {
	w.String(s.Path)
	w.Buffer(s.Data)
	w.Int(s.Version)
}

func (s *SetDataRequest) Decode(r *Reader) {
	s.Path = r.String()
	s.Data = r.Buffer()
	s.Version = r.Int()
}

func (s *SetDataResponse) Encode(w *Writer) { s.Stat.Encode(w) }
func (s *SetDataResponse) Decode(r *Reader) { s.Stat.Decode(r) }

func (g *GetACLRequest) Encode(w *Writer) { w.String(g.Path) }
func (g *GetACLRequest) Decode(r *Reader) { g.Path = r.String() }

func (g *GetACLResponse) Encode(w *Writer) {
	w.ACLs(g.ACL)
	g.Stat.Encode(w)
}

func (g *GetACLResponse) Decode(r *Reader) {
	g.ACL = r.ACLs()
	g.Stat.Decode(r)
}

func (s *SetACLRequest) Encode(w *Writer) {
	w.String(s.Path)
	w.ACLs(s.ACL)
	w.Int(s.Version)
}

func (s *SetACLRequest) Decode(r *Reader) {
	s.Path = r.String()
	s.ACL = r.ACLs()
	s.Version = r.Int()
}

func (s *SetACLResponse) Encode(w *Writer) { s.Stat.Encode(w) }
func (s *SetACLResponse) Decode(r *Reader) { s.Stat.Decode(r) }

func (g *GetChildrenRequest) Encode(w *Writer) {
	w.String(g.Path)
	w.Bool(g.Watch)
}

func (g *GetChildrenRequest) Decode(r *Reader) {
	g.Path = r.String()
	g.Watch = r.Bool()
}

func (g *GetChildrenResponse) Encode(w *Writer) { w.Strings(g.Children) }
func (g *GetChildrenResponse) Decode(r *Reader) { g.Children = r.Strings() }

func (g *GetChildren2Request) Encode(w *Writer) {
	w.String(g.Path)
	w.Bool(g.Watch)
}

func (g *GetChildren2Request) Decode(r *Reader) {
	g.Path = r.String()
	g.Watch = r.Bool()
}

func (g *GetChildren2Response) Encode(w *Writer) {
	w.Strings(g.Children)
	g.Stat.Encode(w)
}

func (g *GetChildren2Response) Decode(r *Reader) {
	g.Children = r.Strings()
	g.Stat.Decode(r)
}

func (s *SyncRequest) Encode(w *Writer) { w.String(s.Path) }
func (s *SyncRequest) Decode(r *Reader) { s.Path = r.String() }

func (s *SyncResponse) Encode(w *Writer) { w.String(s.Path) }
func (s *SyncResponse) Decode(r *Reader) { s.Path = r.String() }

func (c *CheckVersionRequest) Encode(w *Writer) {
	w.String(c.Path)
	w.Int(c.Version)
}

func (c *CheckVersionRequest) Decode(r *Reader) {
	c.Path = r.String()
	c.Version = r.Int()
}

func (h *MultiHeader) Encode(w *Writer) {
	w.Int(int32(h.Type))
	w.Bool(h.Done)
	w.Int(int32(h.Err))
}

func (h *MultiHeader) Decode(r *Reader) {
	h.Type = OpCode(r.Int())
	h.Done = r.Bool()
	h.Err = ErrCode(r.Int())
}

func (e *ErrorResponse) Encode(w *Writer) { w.Int(int32(e.Err)) }
func (e *ErrorResponse) Decode(r *Reader) { e.Err = ErrCode(r.Int()) }

func (c *ReconfigRequest) Encode(w *Writer) {
	w.String(c.JoiningServers)
	w.String(c.LeavingServers)
	w.String(c.NewMembers)
	w.Long(c.CurConfigID)
}

func (c *ReconfigRequest) Decode(r *Reader) {
	c.JoiningServers = r.String()
	c.LeavingServers = r.String()
	c.NewMembers = r.String()
	c.CurConfigID = r.Long()
}

func (c *CheckWatchesRequest) Encode(w *Writer) {
	w.String(c.Path)
	w.Int(int32(c.Type))
}

func (c *CheckWatchesRequest) Decode(r *Reader) {
	c.Path = r.String()
	c.Type = WatcherType(r.Int())
}

func (c *RemoveWatchesRequest) Encode(w *Writer) {
	w.String(c.Path)
	w.Int(int32(c.Type))
}

func (c *RemoveWatchesRequest) Decode(r *Reader) {
	c.Path = r.String()
	c.Type = WatcherType(r.Int())
}

func (a *AddWatchRequest) Encode(w *Writer) {
	w.String(a.Path)
	w.Int(int32(a.Mode))
}

func (a *AddWatchRequest) Decode(r *Reader) {
	a.Path = r.String()
	a.Mode = AddWatchMode(r.Int())
}

func (s *SetWatches) Encode(w *Writer) {
	w.Long(s.RelativeZxid)
	w.Strings(s.DataWatches)
	w.Strings(s.ExistWatches)
	w.Strings(s.ChildWatches)
}

func (s *SetWatches) Decode(r *Reader) {
	s.RelativeZxid = r.Long()
	s.DataWatches = r.Strings()
	s.ExistWatches = r.Strings()
	s.ChildWatches = r.Strings()
}

func (s *SetWatches2) Encode(w *Writer) {
	w.Long(s.RelativeZxid)
	w.Strings(s.DataWatches)
	w.Strings(s.ExistWatches)
	w.Strings(s.ChildWatches)
	w.Strings(s.PersistentWatches)
	w.Strings(s.PersistentRecursiveWatches)
}

func (s *SetWatches2) Decode(r *Reader) {
	s.RelativeZxid = r.Long()
	s.DataWatches = r.Strings()
	s.ExistWatches = r.Strings()
	s.ChildWatches = r.Strings()
	s.PersistentWatches = r.Strings()
	s.PersistentRecursiveWatches = r.Strings()
}

func (g *GetEphemeralsRequest) Encode(w *Writer) { w.String(g.PrefixPath) }
func (g *GetEphemeralsRequest) Decode(r *Reader) { g.PrefixPath = r.String() }

func (g *GetEphemeralsResponse) Encode(w *Writer) { w.Strings(g.Ephemerals) }
func (g *GetEphemeralsResponse) Decode(r *Reader) { g.Ephemerals = r.Strings() }

func (g *GetAllChildrenNumberRequest) Encode(w *Writer) { w.String(g.Path) }
func (g *GetAllChildrenNumberRequest) Decode(r *Reader) { g.Path = r.String() }

func (g *GetAllChildrenNumberResponse) Encode(w *Writer) { w.Int(g.TotalNumber) }
func (g *GetAllChildrenNumberResponse) Decode(r *Reader) { g.TotalNumber = r.Int() }

func (c *ClientInfo) Encode(w *Writer) {
	w.String(c.AuthScheme)
	w.String(c.User)
}

func (c *ClientInfo) Decode(r *Reader) {
	c.AuthScheme = r.String()
	c.User = r.String()
}

func (m *WhoAmIResponse) Encode(w *Writer) {
	w.Int(int32(len(m.ClientInfo)))
	for i := range m.ClientInfo {
		m.ClientInfo[i].Encode(w)
	}
}

func (m *WhoAmIResponse) Decode(r *Reader) {
	m.ClientInfo = nil
	n := r.Count(minClientInfoBytes)
	if n == 0 {
		return
	}
	m.ClientInfo = make([]ClientInfo, n)
	for i := range m.ClientInfo {
		m.ClientInfo[i].Decode(r)
	}
}

func (a *AuthPacket) Encode(w *Writer) {
	w.Int(a.Type)
	w.String(a.Scheme)
	w.Buffer(a.Auth)
}

func (a *AuthPacket) Decode(r *Reader) {
	a.Type = r.Int()
	a.Scheme = r.String()
	a.Auth = r.Buffer()
}

func (g *GetSASLRequest) Encode(w *Writer) { w.Buffer(g.Token) }
func (g *GetSASLRequest) Decode(r *Reader) { g.Token = r.Buffer() }

func (s *SetSASLResponse) Encode(w *Writer) { w.Buffer(s.Token) }
func (s *SetSASLResponse) Decode(r *Reader) { s.Token = r.Buffer() }

func (e *WatcherEvent) Encode(w *Writer) {
	w.Int(int32(e.Type))
	w.Int(int32(e.State))
	w.String(e.Path)
}

func (e *WatcherEvent) Decode(r *Reader) {
	e.Type = EventType(r.Int())
	e.State = KeeperState(r.Int())
	e.Path = r.String()
}
