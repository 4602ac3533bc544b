"""Protected file carousels (TS 33.246 MTK delivery for download): DCF files and MIKEY
objects in one FLUTE session."""
