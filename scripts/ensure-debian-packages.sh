#!/usr/bin/env bash
# Installs the reference tools the tests compare against (astropy, cfitsio's fitsio and fitsverify),
# from Debian's packages, only when they are missing: a fresh CI machine gets them, a warm one skips.
set -euo pipefail
need=()
/usr/bin/python3 -c 'import astropy' 2>/dev/null || need+=(python3-astropy)
/usr/bin/python3 -c 'import fitsio' 2>/dev/null || need+=(python3-fitsio)
/usr/bin/python3 -c 'import astropy_healpix' 2>/dev/null || need+=(python3-astropy-healpix)
command -v fitsverify >/dev/null || need+=(fitsverify)
# Real VO clients for the TAP tests: pyvo, and STILTS (tapquery, taplint).
/usr/bin/python3 -c 'import pyvo' 2>/dev/null || need+=(python3-pyvo)
command -v stilts >/dev/null || need+=(stilts)
# fsspec's HTTP filesystem (needs aiohttp): astropy's fits.open(url, use_fsspec=True) in bench/cloud-cube.ts.
/usr/bin/python3 -c 'import fsspec' 2>/dev/null || need+=(python3-fsspec)
/usr/bin/python3 -c 'import aiohttp' 2>/dev/null || need+=(python3-aiohttp)
command -v fpack >/dev/null || need+=(libcfitsio-bin)
command -v bzip2 >/dev/null || need+=(bzip2)
[ -x /usr/sbin/nginx ] || need+=(nginx)
# Debian's Chromium for the web interface's browser tests (playwright-core drives it; no browser download).
[ -x /usr/bin/chromium ] || need+=(chromium)
# A real PostgreSQL for the catalog tests (scripts/pg.sh starts it).
dpkg -s postgresql-15 >/dev/null 2>&1 || need+=(postgresql-15)
# A real S3-compatible server for the storage tests (scripts/s3-swift.sh starts it).
for p in swift swift-proxy swift-account swift-container swift-object python3-swift memcached curl; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  # Installing must not start services (nginx would bind port 80): a policy-rc.d says no.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod +x /usr/sbin/policy-rc.d
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
