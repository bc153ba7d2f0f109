#!/usr/bin/env python3
"""Write the uncompressed ELF kernel held inside a Debian bzImage.

Debian compresses the kernel with XZ.  The ELF inside carries a PVH entry
note, so qemu boots it directly with -kernel and skips the in-guest
decompression, which is slow under software emulation.
Usage: extract-vmlinux.py BZIMAGE OUT"""
import lzma
import sys

src, dst = sys.argv[1], sys.argv[2]
data = open(src, 'rb').read()
off = data.find(b'\xfd7zXZ\x00')
if off < 0:
    sys.exit('extract-vmlinux: no XZ stream in ' + src)
out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[off:])
if out[:4] != b'\x7fELF':
    sys.exit('extract-vmlinux: the XZ payload of %s is not an ELF file' % src)
with open(dst + '.tmp', 'wb') as f:
    f.write(out)
import os
os.rename(dst + '.tmp', dst)
