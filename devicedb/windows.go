package devicedb

// windowsVersion maps an NT version to the marketing version where the UA
// allows it (NT 10.0 is Windows 10 or 11; sua tells them apart). NT 6.2
// and 6.3 on ARM are Windows RT and RT 8.1. The labels of old releases are
// uap-core's ("XP", "Vista", "NT"), the de facto standard of UA reports.
func windowsVersion(nt version, arm bool) (string, version) {
	if nt.n == 0 {
		return "", nt
	}
	switch {
	case nt.p[0] == 10 && nt.p[1] == 0 || nt.p[0] == 6 && nt.p[1] == 4:
		return "10", version{p: [3]int32{10}, n: 1}
	case nt.p[0] == 6 && nt.p[1] == 3 && arm:
		return "RT 8.1", nt
	case nt.p[0] == 6 && nt.p[1] == 2 && arm:
		return "RT", nt
	case nt.p[0] == 6 && nt.p[1] == 3:
		return "8.1", version{p: [3]int32{8, 1}, n: 2}
	case nt.p[0] == 6 && nt.p[1] == 2:
		return "8", version{p: [3]int32{8}, n: 1}
	case nt.p[0] == 6 && nt.p[1] == 1:
		return "7", version{p: [3]int32{7}, n: 1}
	case nt.p[0] == 6 && nt.p[1] == 0:
		return "Vista", nt
	case nt.p[0] == 5 && (nt.p[1] == 1 || nt.p[1] == 2):
		return "XP", nt
	case nt.p[0] == 5 && nt.p[1] == 0:
		return "2000", nt
	case nt.p[0] < 5:
		return "NT", nt // "Windows NT 4.0", "Windows NT 3.51": Windows NT itself
	}
	return "", nt // an NT version with no marketing name: the NT version
}

// legacyWindows names pre-NT-6 Windows from a comment item ("Windows 98",
// "Win 9x 4.90", "WinNT"); "" when it cannot.
func legacyWindows(it string) string {
	switch {
	case it == "Windows ME" || hasPrefix(it, "Win 9x 4.90"):
		return "ME"
	case it == "Windows 98" || hasPrefix(it, "Win98"):
		return "98"
	case it == "Windows 95" || hasPrefix(it, "Win95"):
		return "95"
	case it == "Windows 3.1" || it == "Win16" || it == "Win 3.1":
		return "3.1"
	case hasPrefix(it, "Windows 10"):
		return "10"
	case it == "Windows XP":
		return "XP"
	case it == "Windows 2000" || it == "Win2000":
		return "2000"
	case it == "Windows Vista":
		return "Vista"
	case it == "Windows 7":
		return "7"
	case hasPrefix(it, "WinNT4.0"):
		return "NT 4.0"
	case it == "WinNT" || hasPrefix(it, "WinNT4") || hasPrefix(it, "Win NT"):
		return "NT"
	case it == "Win32":
		// A bare "Win32" (Netscape-era "Windows; U; Win32") names no
		// release; uap-core reports it as 95 and so does adx.
		return "95"
	}
	return ""
}
