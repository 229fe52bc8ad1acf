# Generated data for the cloud tests: a 64x64x200 float32 cube with a celestial+time WCS and a
# binary table (scalars, strings, a fixed array with TDIM, a variable-length array, a wide pad),
# and a scaled int16 cube with BLANK. Deterministic (seeded).
import sys
import numpy as np
from astropy.io import fits

out = sys.argv[1]
rng = np.random.default_rng(42)
cube = rng.normal(100, 10, (200, 64, 64)).astype('>f4')  # numpy order: (NAXIS3, NAXIS2, NAXIS1)
cube[:, 10, 20] += np.sin(np.arange(200) / 10) * 50      # a variable star at x=20, y=10 (0-based)
sci = fits.ImageHDU(cube, name='SCI')
h = sci.header
for k, v in dict(CTYPE1='RA---TAN', CTYPE2='DEC--TAN', CTYPE3='TIME', CRPIX1=32.5, CRPIX2=32.5, CRPIX3=1,
                 CRVAL1=150.0, CRVAL2=2.2, CRVAL3=0.0, CDELT1=-0.0011, CDELT2=0.0011, CDELT3=120.0,
                 CUNIT3='s', RADESYS='ICRS').items():
    h[k] = v
n = 1000
cols = [
    fits.Column(name='TIME', format='D', unit='d', array=np.arange(n) * 0.02 + 1325.0),
    fits.Column(name='FLUX', format='E', unit='e-/s', array=rng.normal(1000, 5, n).astype('f4')),
    fits.Column(name='QUALITY', format='J', array=rng.integers(0, 8, n)),
    fits.Column(name='NAME', format='12A', array=np.array([f'star{i:05d}' for i in range(n)])),
    fits.Column(name='VEC', format='6E', dim='(3,2)', array=rng.normal(0, 1, (n, 2, 3)).astype('f4')),
    fits.Column(name='SPEC', format='PJ()', array=np.array([np.arange(i % 7, dtype='i4') * i for i in range(n)], dtype=object)),
    fits.Column(name='PAD', format='2000B', array=np.zeros((n, 2000), dtype='u1')),
    fits.Column(name='LAST', format='I', array=(np.arange(n) % 3000).astype('i2')),
]
tab = fits.BinTableHDU.from_columns(cols, name='LC')
fits.HDUList([fits.PrimaryHDU(), sci, tab]).writeto(f'{out}/cube.fits', overwrite=True)

ints = rng.integers(-3000, 3000, (50, 32, 32)).astype('>i2')
ints[3, 4, 5] = -32768
p = fits.PrimaryHDU(ints)
p.header['BSCALE'] = 0.5
p.header['BZERO'] = 1000.0
p.header['BLANK'] = -32768
fits.HDUList([p]).writeto(f'{out}/scaled16.fits', overwrite=True)
