package ingest

import (
	"strconv"

	"github.com/weftxdr/weft"
)

// The entities of an OCSF finding (ocsf.go): its device, actor, network
// endpoints, files, processes, URLs, email and resources, and those of
// every evidence artifact, as weft evidence.

// entities reads the finding's entities: the top-level objects, the
// actor, the affected resources and every evidence artifact.
func (d *ocsfDecoder) entities(root *docNode) {
	d.entityObjects(root, "")
	for i, r := range d.objects(root.get("resources"), "", "resources") {
		r := &r
		d.resource(r, docIndex("resources", i))
	}
	for i, e := range d.objects(root.get("evidences"), "", "evidences") {
		e := &e
		p := docIndex("evidences", i)
		mark := len(d.items)
		d.entityObjects(e, p)
		for j, r := range d.objects(e.get("resources"), p, "resources") {
			r := &r
			d.resource(r, docIndex(p+".resources", j))
		}
		if id, ok := d.int(e.get("verdict_id"), p, "verdict_id"); ok {
			d.setVerdict(mark, ocsfVerdict(id))
		}
	}
}

// ocsfVerdict maps an evidence verdict_id to weft's verdict.
func ocsfVerdict(id int64) weft.Verdict {
	switch id {
	case 2:
		return "malicious"
	case 4, 8:
		return "suspicious"
	case 1, 5:
		return "noThreatsFound"
	}
	return "unknown"
}

// entityObjects reads the entity attributes of the finding or of one
// evidence artifact (path is "" or "evidences[i]").
func (d *ocsfDecoder) entityObjects(o *docNode, path string) {
	if dev := d.object(o, path, "device"); dev != nil {
		d.device(dev, joinPath(path, "device"))
	}
	if actor := d.object(o, path, "actor"); actor != nil {
		ap := joinPath(path, "actor")
		if u := d.object(actor, ap, "user"); u != nil {
			d.user(u, ap+".user", nil)
		}
		if p := d.object(actor, ap, "process"); p != nil {
			d.process(p, ap+".process")
		}
	}
	if u := d.object(o, path, "user"); u != nil {
		d.user(u, joinPath(path, "user"), nil)
	}
	for _, ep := range []struct{ name, role string }{{"src_endpoint", "source"}, {"dst_endpoint", "destination"}} {
		if e := d.object(o, path, ep.name); e != nil {
			d.endpoint(e, joinPath(path, ep.name), weft.EvidenceRole(ep.role))
		}
	}
	if f := d.object(o, path, "file"); f != nil {
		fp := joinPath(path, "file")
		d.add(weft.Evidence{EntityType: weft.EntityFile, FileDetails: d.file(f, fp), DetailedRoles: []string{fp}})
	}
	if p := d.object(o, path, "process"); p != nil {
		d.process(p, joinPath(path, "process"))
	}
	if u := d.object(o, path, "url"); u != nil {
		d.url(u, joinPath(path, "url"))
	}
	if e := d.object(o, path, "email"); e != nil {
		d.email(e, joinPath(path, "email"))
	}
	if q := d.object(o, path, "query"); q != nil {
		qp := joinPath(path, "query")
		if h := d.str(q.get("hostname"), qp, "hostname"); h != "" {
			d.add(weft.Evidence{EntityType: weft.EntityDomain, DomainName: h, DetailedRoles: []string{qp}})
		}
	}
}

// device reads an OCSF Device.
func (d *ocsfDecoder) device(o *docNode, path string) {
	e := weft.Evidence{EntityType: weft.EntityDevice, DetailedRoles: []string{path}}
	host := firstNonEmpty(d.str(o.get("hostname"), path, "hostname"), d.str(o.get("name"), path, "name"))
	setDeviceHost(&e, host, d.str(o.get("domain"), path, "domain"))
	if ip := d.str(o.get("ip"), path, "ip"); ip != "" {
		e.IPInterfaces = []string{ip}
	}
	os := d.object(o, path, "os")
	e.OsPlatform = d.str(os.get("name"), path+".os", "name")
	var props objBuilder
	for _, name := range []string{"uid", "instance_uid", "type", "mac", "region"} {
		if s := d.id(o.get(name), path, name); s != "" {
			props.str(name, s)
		}
	}
	e.Properties = props.bytes()
	d.add(e)
}

// user reads an OCSF User into a user evidence item, or into acct when it
// is the account of a process.
func (d *ocsfDecoder) user(o *docNode, path string, acct **weft.UserAccount) {
	name := d.str(o.get("name"), path, "name")
	uid := d.id(o.get("uid"), path, "uid")
	ua := accountOf(name, d.str(o.get("domain"), path, "domain"), uid)
	email := d.str(o.get("email_addr"), path, "email_addr")
	full := d.str(o.get("full_name"), path, "full_name")
	if ua != nil {
		ua.DisplayName = full
	}
	if acct != nil {
		*acct = ua
		return
	}
	if ua == nil && email == "" {
		return
	}
	e := weft.Evidence{EntityType: weft.EntityUser, UserAccount: ua, PrimaryAddress: email, DetailedRoles: []string{path}}
	if ua == nil || ua.UserSid == "" && uid != "" {
		var props objBuilder
		props.str("uid", uid)
		e.Properties = props.bytes()
	}
	d.add(e)
}

// endpoint reads an OCSF Network Endpoint: its address as an ip evidence
// item in role, a destination's host name as a domain.
func (d *ocsfDecoder) endpoint(o *docNode, path string, role weft.EvidenceRole) {
	ip := d.str(o.get("ip"), path, "ip")
	host := firstNonEmpty(d.str(o.get("hostname"), path, "hostname"), d.str(o.get("domain"), path, "domain"))
	port, hasPort := d.port(o.get("port"), path, "port")
	loc := d.object(o, path, "location")
	country := d.str(loc.get("country"), path+".location", "country")
	if ip != "" {
		e := weft.Evidence{EntityType: weft.EntityIP, IPAddress: ip, CountryLetterCode: country, Roles: []weft.EvidenceRole{role}, DetailedRoles: []string{path}}
		var props objBuilder
		if hasPort {
			props.raw("port", []byte(strconv.FormatInt(port, 10)))
		}
		if host != "" {
			props.str("hostname", host)
		}
		e.Properties = props.bytes()
		d.add(e)
	}
	if host != "" && (role == "destination" || ip == "") {
		d.add(weft.Evidence{EntityType: weft.EntityDomain, DomainName: host, Roles: []weft.EvidenceRole{role}, DetailedRoles: []string{path}})
	}
}

// file reads an OCSF File into file details.
func (d *ocsfDecoder) file(o *docNode, path string) *weft.FileDetails {
	if o == nil {
		return nil
	}
	fd := &weft.FileDetails{}
	fd.FileName = d.str(o.get("name"), path, "name")
	fd.FilePath = d.str(o.get("parent_folder"), path, "parent_folder")
	if full := d.str(o.get("path"), path, "path"); full != "" {
		dir, base := splitFilePath(full)
		fd.FileName = firstNonEmpty(fd.FileName, base)
		fd.FilePath = firstNonEmpty(fd.FilePath, dir)
	}
	if n, ok := d.int(o.get("size"), path, "size"); ok {
		if n < 0 {
			d.fail(path+".size", strconv.FormatInt(n, 10)+" is negative")
		}
		fd.FileSize = n
	}
	fd.FilePublisher = d.str(o.get("company_name"), path, "company_name")
	sig := d.object(o, path, "signature")
	cert := d.object(sig, path+".signature", "certificate")
	fd.Signer = d.str(cert.get("subject"), path+".signature.certificate", "subject")
	fd.Issuer = d.str(cert.get("issuer"), path+".signature.certificate", "issuer")
	for i, h := range d.objects(o.get("hashes"), path, "hashes") {
		h := &h
		hp := docIndex(path+".hashes", i)
		algo := d.str(h.get("algorithm"), hp, "algorithm")
		if id, ok := d.int(h.get("algorithm_id"), hp, "algorithm_id"); ok {
			switch id {
			case 1:
				algo = "md5"
			case 2:
				algo = "sha1"
			case 3:
				algo = "sha256"
			}
		}
		setFileHash(fd, algo, d.str(h.get("value"), hp, "value"))
	}
	if *fd == (weft.FileDetails{}) {
		return nil
	}
	return fd
}

// process reads an OCSF Process, and its image as a file evidence item too
// when the image has a hash (a hash links alerts; a path alone does not).
func (d *ocsfDecoder) process(o *docNode, path string) {
	e := weft.Evidence{EntityType: weft.EntityProcess, DetailedRoles: []string{path}}
	e.ProcessID = d.pid(o.get("pid"), path, "pid")
	e.ProcessCommandLine = d.str(o.get("cmd_line"), path, "cmd_line")
	e.ProcessCreationDateTime = d.timeOf(o, path, "created_time")
	e.ImageFile = d.file(d.object(o, path, "file"), path+".file")
	if name := d.str(o.get("name"), path, "name"); name != "" && e.ImageFile == nil {
		e.ImageFile = &weft.FileDetails{FileName: name}
	}
	if u := d.object(o, path, "user"); u != nil {
		d.user(u, path+".user", &e.UserAccount)
	}
	if parent := d.object(o, path, "parent_process"); parent != nil {
		pp := path + ".parent_process"
		e.ParentProcessID = d.pid(parent.get("pid"), pp, "pid")
		e.ParentProcessCreationDateTime = d.timeOf(parent, pp, "created_time")
		e.ParentProcessImageFile = d.file(d.object(parent, pp, "file"), pp+".file")
		if name := d.str(parent.get("name"), pp, "name"); name != "" && e.ParentProcessImageFile == nil {
			e.ParentProcessImageFile = &weft.FileDetails{FileName: name}
		}
	}
	if e.ProcessID == 0 && e.ProcessCommandLine == "" && e.ImageFile == nil {
		return
	}
	if uid := d.id(o.get("uid"), path, "uid"); uid != "" {
		var props objBuilder
		props.str("uid", uid)
		e.Properties = props.bytes()
	}
	d.add(e)
	if f := e.ImageFile; f != nil && f.Md5+f.Sha1+f.Sha256 != "" {
		d.add(weft.Evidence{EntityType: weft.EntityFile, FileDetails: f, DetailedRoles: []string{path + ".file"}})
	}
}

// url reads an OCSF URL: url_string, else its host name as a domain.
func (d *ocsfDecoder) url(o *docNode, path string) {
	if s := d.str(o.get("url_string"), path, "url_string"); s != "" {
		d.add(weft.Evidence{EntityType: weft.EntityURL, URL: s, DetailedRoles: []string{path}})
		return
	}
	if h := firstNonEmpty(d.str(o.get("hostname"), path, "hostname"), d.str(o.get("domain"), path, "domain")); h != "" {
		d.add(weft.Evidence{EntityType: weft.EntityDomain, DomainName: h, DetailedRoles: []string{path}})
	}
}

// email reads an OCSF Email: the message, and a mailbox for each recipient.
func (d *ocsfDecoder) email(o *docNode, path string) {
	to := d.strs(o.get("to"), path, "to")
	if dt := d.str(o.get("delivered_to"), path, "delivered_to"); dt != "" {
		to = appendNew(to, dt)
	}
	e := weft.Evidence{
		EntityType:            weft.EntityEmailMessage,
		NetworkMessageID:      d.id(o.get("uid"), path, "uid"),
		InternetMessageID:     d.str(o.get("message_uid"), path, "message_uid"),
		Subject:               d.str(o.get("subject"), path, "subject"),
		SenderAddress:         firstNonEmpty(d.str(o.get("smtp_from"), path, "smtp_from"), d.str(o.get("from"), path, "from")),
		RecipientEmailAddress: firstItem(to),
		SenderIP:              firstItem(d.strs(o.get("x_originating_ip"), path, "x_originating_ip")),
		DetailedRoles:         []string{path},
	}
	d.add(e)
	for _, addr := range to {
		d.add(weft.Evidence{EntityType: weft.EntityMailbox, PrimaryAddress: addr, DetailedRoles: []string{path + ".to"}})
	}
}

// resource reads an OCSF Resource Details as a cloud resource.
func (d *ocsfDecoder) resource(o *docNode, path string) {
	e := weft.Evidence{
		EntityType:    weft.EntityCloudResource,
		ResourceID:    d.id(o.get("uid"), path, "uid"),
		ResourceName:  d.str(o.get("name"), path, "name"),
		ResourceType:  d.str(o.get("type"), path, "type"),
		DetailedRoles: []string{path},
	}
	if e.ResourceID == "" && e.ResourceName == "" {
		return
	}
	var props objBuilder
	for _, name := range []string{"region", "cloud_partition"} {
		if s := d.str(o.get(name), path, name); s != "" {
			props.str(name, s)
		}
	}
	e.Properties = props.bytes()
	d.add(e)
}
