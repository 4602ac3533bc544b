"""The MBMS security profile this project implements — every project decision in one place.

TS 33.246 clauses 6.3.1-6.3.3.2 say *what* is exchanged; the byte-level MIKEY profile (clauses
6.4-6.6, Annex F) and the XML of TS 26.346 were not available. Where they are silent the project
follows the RFCs to the letter and the decisions below (``shared/reference/profile.md``).

Tags in the comments: [RFC] normative in the cited RFC, [3GPP] stated in TS 33.246 / TS 31.102 /
the seed CR, [P] a project decision. A later correction of a [P] item is a one-line change here
plus its test.
"""

from __future__ import annotations

from typing import Final

# --- Identifiers -------------------------------------------------------------------------------
#: Key Domain ID length: MCC || MNC, TS 24.008 PLMN BCD layout [3GPP size, P layout].
KEY_DOMAIN_ID_LEN: Final = 3
#: MSK ID: Key Group (2) || Key Number (2) [3GPP].
MSK_ID_LEN: Final = 4
#: Key Number 0 means "the current MSK of this Key Group" [3GPP].
KEY_NUMBER_CURRENT: Final = 0
#: MTK ID: 2 bytes, strictly increasing under one MSK; 0 is reserved [P], so the valid range
#: is MTK_ID_MIN..MTK_ID_MAX.
MTK_ID_LEN: Final = 2
MTK_ID_RESERVED: Final = 0
MTK_ID_MIN: Final = 1
MTK_ID_MAX: Final = 0xFFFF
#: SRTP MKI = MSK ID (4) || MTK ID (2) in every SRTP/SRTCP packet [P].
SRTP_MKI_LEN: Final = MSK_ID_LEN + MTK_ID_LEN

# --- Keys --------------------------------------------------------------------------------------
#: MUK, MSK and MTK are 128-bit keys (AES-CM-128 KEMAC, AES-128 SRTP, AES_128_CBC DCF).
KEY_LEN: Final = 16
#: SRTP master salt, 112 bits [RFC 3711].
SRTP_SALT_LEN: Final = 14
#: MUK = Ks_(ext)_NAF truncated to 128 bits (GBA_ME) [P]. profile.md "Revisions" (not applied
#: yet): the full 32-byte Ks_(ext)_NAF is the MIKEY pre-shared key.
MUK_LEN: Final = 16
#: Ua security protocol identifier for MBMS: organisation 0x01 + protocol 0x00000001 [P].
UA_PROTOCOL_ID_MBMS: Final = bytes((0x01, 0x00, 0x00, 0x00, 0x01))

# --- MIKEY (RFC 3830 / RFC 4563) ---------------------------------------------------------------
#: UDP port for MIKEY (MTK streaming; MSK push by default) [3GPP / P].
MIKEY_UDP_PORT: Final = 2269
#: RAND length, fresh per new message, MTK messages included [P].
RAND_LEN: Final = 16
#: HDR PRF func 0 = MIKEY-1 [RFC].
PRF_FUNC: Final = 0
#: T payload: TS type 2 = COUNTER (32 bits) [3GPP: 4-byte counters on the USIM]. Every message
#: is built with it and a received message with another TS type is refused (profile.md "MIKEY" → T).
TS_TYPE_COUNTER: Final = 2
COUNTER_MAX: Final = 0xFFFF_FFFF
#: KEMAC (RFC 3830 §6.2): Encr alg 1 = AES-CM-128, MAC alg 1 = HMAC-SHA-1-160, the algorithms
#: RFC 3830 §4.2.3/§4.2.4 make mandatory to implement [RFC] (profile.md "MIKEY" → KEMAC). Every
#: KEMAC is built with them and a received KEMAC with any other algorithm is refused [P receive
#: rule].
KEMAC_ENCR_ALG: Final = 1
KEMAC_MAC_ALG: Final = 1
#: V payload of the MIKEY ACK: Auth alg 1 = HMAC-SHA-1-160 (RFC 3830 §5.2, §6.9) [RFC]; required
#: on receive as well (profile.md "MIKEY" → MIKEY ACK).
ACK_AUTH_ALG: Final = 1
#: MSK key data: type TGK (0), KV = interval of MTK IDs (VF = lowest, VT = highest) [P]; an MSK
#: message with another key data type is refused.
MSK_KEY_DATA_TYPE: Final = 0
#: Streaming MTK key data: TEK+SALT (3), KV = SPI with SPI = the 6-byte MKI [P].
MTK_STREAMING_KEY_DATA_TYPE: Final = 3
#: Download MTK key data: TEK (2), KV null [P]. On receive an MTK message may carry any of
#: TGK (0), TGK+SALT (1), TEK (2), TEK+SALT (3): from a TGK the TEK is derived (RFC 3830 §4.1.3).
MTK_DOWNLOAD_KEY_DATA_TYPE: Final = 2
#: CS ID used to derive the TEK (RFC 3830 §4.1.3) when an MTK message carries a TGK instead of
#: the TEK: the first crypto session for streaming, 0 for download (no crypto session) [P].
TGK_CS_ID_STREAMING: Final = 1
TGK_CS_ID_DOWNLOAD: Final = 0
#: SP policy number used in the MSK message for a streaming Key Group [P].
SRTP_POLICY_NO: Final = 0
#: HDR CS ID map type (RFC 3830 §6.1, RFC 4563 §5) [P] (profile.md "MIKEY" → CS ID map):
#: 0 SRTP-ID for the MSK messages of a Key Group that protects a streaming session (with the SP
#: payload) and for streaming MTK messages (one entry per SRTP stream, its ROC); 1 Empty map
#: (#CS = 0) for the MSK messages of a download-only Key Group, download MTK messages and the
#: solicited pull.
#: Receivers accept either map type (RFC 3830 §6.1.1, RFC 4563 §5).
CS_ID_MAP_TYPE_STREAMING: Final = 0
CS_ID_MAP_TYPE_NO_CS: Final = 1
#: EXT payload naming the keys: General Extension type 3 (Key ID) with the Key ID sub-payloads
#: 0 Key Domain ID, 1 MSK ID, 2 MTK ID [RFC 4563 §4] (profile.md "MIKEY" → EXT).
KEY_ID_EXT_TYPE: Final = 3
KEY_ID_TYPE_KEY_DOMAIN_ID: Final = 0
KEY_ID_TYPE_MSK_ID: Final = 1
KEY_ID_TYPE_MTK_ID: Final = 2

# --- ID payload types of the MUK ID [3GPP shape, P types] ---------------------------------------
#: IDi = BM-SC FQDN (NAF-ID) as a URI. Required on receive.
IDI_TYPE: Final = 1  # URI
#: IDr = B-TID as an NAI. Required on receive.
IDR_TYPE: Final = 0  # NAI

# --- Transport of download MTKs [3GPP content type, P location] ---------------------------------
MIKEY_CONTENT_TYPE: Final = "application/mikey"


def mikey_content_location(msk_id: bytes, mtk_id: bytes) -> str:
    """Content-Location of the FLUTE object that carries a download MTK message [P]."""
    return f"mikey/{msk_id.hex()}-{mtk_id.hex()}.mikey"


# --- Download protection: OMA DRM v2 DCF [P] -----------------------------------------------------
#: ``ohdr`` EncryptionMethod 1 = AES_128_CBC and PaddingScheme 1 = RFC 2630, key = the MTK, a
#: random 16-byte IV prepended to the ciphertext (profile.md "Protection of the content") [P];
#: the reader refuses any other method or padding.
DCF_ENCRYPTION_METHOD: Final = 1
DCF_PADDING_SCHEME: Final = 1
#: Textual header carrying Key Domain ID || MSK ID || MTK ID as 18 lower-case hex digits [P].
DCF_MBMS_KEY_ID_HEADER: Final = "MBMS-Key-ID"
#: ContentID scheme: ``cid:<uuid>@<BM-SC FQDN>`` [P].
DCF_CONTENT_ID_PREFIX: Final = "cid:"

# --- SRTP / RFC 4771 defaults [P] ----------------------------------------------------------------
#: The SRTP policy of a streaming Key Group unless configured (profile.md "Protection of the
#: content"): AES-CM-128 encryption, HMAC-SHA1 with an 80-bit tag, key derivation rate 0, RFC 4771
#: RCCm2 with R = 16. SRTCP always keeps HMAC-SHA1-80 (RFC 3711 §3.4: SRTCP authentication is
#: mandatory; RFC 4771 §2: never RCC). Tags are in bits, as in every configuration file.
SRTP_DEFAULT_CIPHER: Final = "aes-cm-128"
SRTP_DEFAULT_AUTH_TAG_BITS: Final = 80
SRTCP_AUTH_TAG_BITS: Final = 80
SRTP_KEY_DERIVATION_RATE: Final = 0
RCC_DEFAULT_MODE: Final = "RCCm2"
RCC_DEFAULT_RATE: Final = 16


# --- Streaming defaults [P, chosen by the loss study: tools/loss_study.md] ------------------------
# At 5 % random loss, 0.5 s re-sends with a 2.5 s lead give 5 copies before each switch: over one
# hour of 10 s switches 0.01 % of UEs ever lack a key (target <= 0.1 %), MIKEY overhead 0.32 % of
# a 1 Mbit/s stream (budget 1 %). Other periods: interval = min(0.5 s, period / 10), lead = 5 x
# interval.
#: A new MTK every this many seconds (``[mtk] period``) [P].
STREAM_MTK_PERIOD_S: Final = 10.0
#: The next MTK's message is first sent this many seconds before the switch [3GPP: "before the
#: RTP traffic changes over"; P value].
STREAM_MTK_LEAD_S: Final = 2.5
#: The current (and, in the lead window, the upcoming) MTK message is re-sent this often [P].
STREAM_MTK_RESEND_INTERVAL_S: Final = 0.5
#: Generated RTCP sender reports: one compound SR + SDES per SSRC this often (RFC 3550 §6.2
#: leaves the interval to the profile; 5 s is its minimum) [P].
STREAM_RTCP_SR_INTERVAL_S: Final = 5.0


# --- MSK procedures (TS 33.246 6.3.2.2-6.3.2.3; profile.md "MSK request XML", "Keys from GBA",
# "Transport") ------------------------------------------------------------------------------------
#: Media types of the MSK request and its answer [3GPP: IANA registrations of TS 26.346].
MSK_REQUEST_CONTENT_TYPE: Final = "application/mbms-msk+xml"
MSK_RESPONSE_CONTENT_TYPE: Final = "application/mbms-msk-response+xml"
#: XML namespace of ``mbms-msk`` / ``mbms-msk-response`` [P]. profile.md "Revisions" (not
#: applied yet): ``urn:3GPP:metadata:2005:MBMS:mskResponse`` (TS 26.346 11.8) [3GPP].
MSK_XML_NAMESPACE: Final = "urn:3gpp:mbms:msk:2005"
#: Per-MSK status codes of the response [P]: 200 ok (the MSK follows by MIKEY), 403 the
#: subscriber may not receive this Key Group, 404 unknown Key Group / MSK, 410 the MSK named by
#: its Key Number is retired (ask with Key Number 0 for the current one).
MSK_STATUS_OK: Final = 200
MSK_STATUS_NOT_SUBSCRIBED: Final = 403
MSK_STATUS_UNKNOWN: Final = 404
MSK_STATUS_RETIRED: Final = 410
#: A request for Key Number 0 while the group has a NEXT MSK gets the NEXT one pushed as well,
#: so that a UE joining during a rotation lead time does not miss the switch [P].
MSK_DELIVER_NEXT_WITH_CURRENT: Final = True
#: HTTP Digest (RFC 7616): qop=auth only; challenges offered in this order (preferred first) [P].
DIGEST_QOP: Final = "auth"
DIGEST_ALGORITHMS: Final = ("SHA-256", "MD5")
#: Default key management URI path on the BM-SC [P].
KEY_MANAGEMENT_PATH: Final = "/keymanagement"
#: Default BM-SC FQDN (the NAF-ID, IDi of every MUK ID) and BSF domain of the GBA simulator, in
#: the TS 23.003 home network domain form for MCC 001 / MNC 01 [P].
BMSC_DEFAULT_FQDN: Final = "bmsc.mnc001.mcc001.pub.3gppnetwork.org"
BSF_DEFAULT_DOMAIN: Final = "bsf.mnc001.mcc001.pub.3gppnetwork.org"
#: The Key Domain (MCC || MNC, TS 33.246 6.3.2.1) of a configuration that names none: the test
#: PLMN MCC 001 / MNC 01 (TS 23.003) [P].
DEFAULT_MCC: Final = "001"
DEFAULT_MNC: Final = "01"
#: GBA KDF (TS 33.220 Annex B): FC 0x01, P0 "gba-me" for Ks_(ext)_NAF [3GPP].
GBA_KDF_FC: Final = 0x01
GBA_ME_LABEL: Final = b"gba-me"
#: B-TID = base64(RAND) "@" BSF server domain name (TS 33.220 4.5.2) [3GPP].
GBA_RAND_LEN: Final = 16
#: Ks = CK || IK, 256 bits [3GPP].
GBA_KS_LEN: Final = 32
#: Default Ks lifetime of the BSF simulator [P].
GBA_KEY_LIFETIME_S: Final = 7 * 24 * 3600


# --- Announcement (TS 33.246 6.3.2.2.2; profile.md "Announcement") -------------------------------
#: Media type of the protection description fragment of the User Service Description [3GPP:
#: IANA registration of TS 26.346].
PROTECTION_DESCRIPTION_CONTENT_TYPE: Final = "application/mbms-protection-description+xml"
#: Its XML namespace and root element, shaped like the MSK request XML [P]. profile.md
#: "Revisions" (not applied yet): ``urn:3GPP:metadata:2005:MBMS:securityDescription``
#: (TS 26.346 11.3.1) [3GPP].
PROTECTION_DESCRIPTION_NAMESPACE: Final = "urn:3gpp:mbms:protection:2005"
PROTECTION_DESCRIPTION_ROOT: Final = "mbms-protection-description"
#: The seed's switch words (6.3.2.2.2: confidentiality and integrity "on / off", UICC key
#: management required "yes / no") are the element texts [3GPP words, P XML].
PROTECTION_ON: Final = "on"
PROTECTION_OFF: Final = "off"
UICC_REQUIRED_YES: Final = "yes"
UICC_REQUIRED_NO: Final = "no"
#: SDP transport protocol of protected streaming media and of FLUTE sessions [3GPP/RFC 3711 §12,
#: TS 26.346 FLUTE SDP].
SDP_PROTO_SRTP: Final = "RTP/SAVP"
SDP_PROTO_FLUTE: Final = "FLUTE/UDP"
#: An SDP names the session it describes in the protection description by the session
#: description's URI, as the User Service Description's deliveryMethod does (the file name for
#: announcement files read from disk) [P].
PROTECTION_SESSION_REFERENCE: Final = "session-description"


# --- Download defaults (issue 4: the protected file carousel, broadcast.download) [P] -----------
#: FDT ``Content-Type`` of a DCF file object: the OMA DRM v2 DCF media type
#: (OMA-TS-DRM-DCF-V2_0, registered as ``application/vnd.oma.drm.dcf``) [P use].
DOWNLOAD_DCF_CONTENT_TYPE: Final = "application/vnd.oma.drm.dcf"
#: FLUTE defaults: encoding symbol length (one symbol per packet in a 1500-byte MTU with IPv4/UDP
#: and EXT_FTI), maximum source block length in symbols, FDT ``sv:schemaVersion`` [P].
DOWNLOAD_SYMBOL_LENGTH: Final = 1428
DOWNLOAD_MAX_SOURCE_BLOCK_LENGTH: Final = 64
DOWNLOAD_FDT_SCHEMA_VERSION: Final = 3
#: Carousel timing (seconds): every object repeated, FDT Instance repeated, MTK rotation period,
#: FDT Expires span (a new FDT Instance is issued at half of it), grace period during which
#: the objects of a replaced generation are still sent, input directory poll interval [P].
DOWNLOAD_REPEAT_INTERVAL_S: Final = 10.0
DOWNLOAD_FDT_REPEAT_INTERVAL_S: Final = 1.0
DOWNLOAD_MTK_PERIOD_S: Final = 600.0
DOWNLOAD_FDT_EXPIRES_S: Final = 120
DOWNLOAD_GRACE_PERIOD_S: Final = 60.0
#: Key Group of a download-only carousel run standalone (streaming = False) [P].
DOWNLOAD_DEFAULT_KEY_GROUP: Final = 0x0100


# --- Raptor FEC (RFC 5053, FEC Encoding ID 1; broadcast.proto.flute.fec.raptor) [P]
# --------------------
#: Repair symbols the registered Raptor scheme sends per source block after its K source symbols,
#: as a share of K: ceil(0.2·K) [P].
RAPTOR_REPAIR_OVERHEAD: Final = 0.2
#: Symbol alignment Al (RFC 5053 §4.2 recommends 4; 1 when T is not a multiple of 4) [RFC rec.].
RAPTOR_ALIGNMENT: Final = 4


# --- Raptor carousel (issue 7: FEC Encoding ID 1 on the protected file carousel) [P] ------------
#: FEC of the carousel's files unless configured: Compact No-Code (``fec = "compact-no-code"``);
#: FDT Instances and MIKEY objects always use Compact No-Code (one or two packets, repeated often:
#: Raptor would need K >= 4 tiny symbols of them) [P].
DOWNLOAD_FEC: Final = "compact-no-code"
#: Source symbols per Raptor source block: the RFC 5053 maximum K = 8192 (one block per ~11 MB at
#: T = 1428), not Compact No-Code's 64 — the larger the block, the less a loss pattern matters [P].
DOWNLOAD_RAPTOR_MAX_SOURCE_BLOCK_LENGTH: Final = 8192
#: Whether every carousel round re-sends the source symbols (False: after the first round only
#: fresh repair symbols, K + R per block) [P].
DOWNLOAD_RAPTOR_SOURCE_EVERY_ROUND: Final = True


# --- SGi-mb output (broadcast.sgimb: the [output] table of streaming and download) [P] ----------
#: Default IP multicast TTL: the MBMS gateway is the next hop (or this host) [P].
OUTPUT_MULTICAST_TTL: Final = 1
#: GTP-U UDP port of an encapsulated output (TS 29.281 §4.4.2.3) [3GPP].
GTPU_UDP_PORT: Final = 2152
