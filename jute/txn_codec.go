package jute

// Codecs for the txn records of records.go (TxnHeader and the *Txn bodies),
// in declaration order, as zookeeper.jute's txn module defines them.

func (h *TxnHeader) Encode(w *Writer) {
	w.Long(h.ClientID)
	w.Int(h.Cxid)
	w.Long(h.Zxid)
	w.Long(h.Time)
	w.Int(int32(h.Type))
}

func (h *TxnHeader) Decode(r *Reader) {
	h.ClientID = r.Long()
	h.Cxid = r.Int()
	h.Zxid = r.Long()
	h.Time = r.Long()
	h.Type = OpCode(r.Int())
}

func (t *CreateTxn) Encode(w *Writer) {
	w.String(t.Path)
	w.Buffer(t.Data)
	w.ACLs(t.ACL)
	w.Bool(t.Ephemeral)
	w.Int(t.ParentCVersion)
}

func (t *CreateTxn) Decode(r *Reader) {
	t.Path = r.String()
	t.Data = r.Buffer()
	t.ACL = r.ACLs()
	t.Ephemeral = r.Bool()
	t.ParentCVersion = r.Int()
}

func (t *CreateContainerTxn) Encode(w *Writer) {
	w.String(t.Path)
	w.Buffer(t.Data)
	w.ACLs(t.ACL)
	w.Int(t.ParentCVersion)
}

func (t *CreateContainerTxn) Decode(r *Reader) {
	t.Path = r.String()
	t.Data = r.Buffer()
	t.ACL = r.ACLs()
	t.ParentCVersion = r.Int()
}

func (t *CreateTTLTxn) Encode(w *Writer) {
	w.String(t.Path)
	w.Buffer(t.Data)
	w.ACLs(t.ACL)
	w.Int(t.ParentCVersion)
	w.Long(t.TTL)
}

func (t *CreateTTLTxn) Decode(r *Reader) {
	t.Path = r.String()
	t.Data = r.Buffer()
	t.ACL = r.ACLs()
	t.ParentCVersion = r.Int()
	t.TTL = r.Long()
}

func (t *DeleteTxn) Encode(w *Writer) { w.String(t.Path) }
func (t *DeleteTxn) Decode(r *Reader) { t.Path = r.String() }

func (t *SetDataTxn) Encode(w *Writer) {
	w.String(t.Path)
	w.Buffer(t.Data)
	w.Int(t.Version)
}

func (t *SetDataTxn) Decode(r *Reader) {
	t.Path = r.String()
	t.Data = r.Buffer()
	t.Version = r.Int()
}

func (t *CheckVersionTxn) Encode(w *Writer) {
	w.String(t.Path)
	w.Int(t.Version)
}

func (t *CheckVersionTxn) Decode(r *Reader) {
	t.Path = r.String()
	t.Version = r.Int()
}

func (t *SetACLTxn) Encode(w *Writer) {
	w.String(t.Path)
	w.ACLs(t.ACL)
	w.Int(t.Version)
}

func (t *SetACLTxn) Decode(r *Reader) {
	t.Path = r.String()
	t.ACL = r.ACLs()
	t.Version = r.Int()
}

func (t *CreateSessionTxn) Encode(w *Writer) { w.Int(t.TimeOut) }
func (t *CreateSessionTxn) Decode(r *Reader) { t.TimeOut = r.Int() }

func (t *CloseSessionTxn) Encode(w *Writer) { w.Strings(t.Paths2Delete) }
func (t *CloseSessionTxn) Decode(r *Reader) { t.Paths2Delete = r.Strings() }

func (t *ErrorTxn) Encode(w *Writer) { w.Int(int32(t.Err)) }
func (t *ErrorTxn) Decode(r *Reader) { t.Err = ErrCode(r.Int()) }

func (t *Txn) Encode(w *Writer) {
	w.Int(int32(t.Type))
	w.Buffer(t.Data)
}

func (t *Txn) Decode(r *Reader) {
	t.Type = OpCode(r.Int())
	t.Data = r.Buffer()
}

// Encode writes vector<Txn>; a nil list is an empty vector.
func (m *MultiTxn) Encode(w *Writer) {
	w.Int(int32(len(m.Txns)))
	for i := range m.Txns {
		m.Txns[i].Encode(w)
	}
}

// Decode reads vector<Txn>; null and empty both decode as nil.
func (m *MultiTxn) Decode(r *Reader) {
	m.Txns = nil
	n := r.Count(minTxnBytes)
	if n == 0 {
		return
	}
	m.Txns = make([]Txn, n)
	for i := range m.Txns {
		m.Txns[i].Decode(r)
	}
}
