import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pciId, pfFamily, QAT_FAMILIES, vfFamily } from '../../src/deviceplugin/qat-ids.js';
import { resourceName, servicesSuffix, socketName } from '../../src/deviceplugin/resources.js';

describe('QAT PCI IDs', () => {
  it('knows every family\'s PF/VF pair, Gen4 from 4xxx on', () => {
    assert.deepEqual(
      QAT_FAMILIES.map((f) => `${f.pf}/${f.vf}${f.gen4 ? ' gen4' : ''}`),
      ['0435/0443', '37c8/37c9', '19e2/19e3', '4940/4941 gen4', '4942/4943 gen4', '4944/4945 gen4', '4946/4947 gen4', '4948/4949 gen4'],
    );
  });

  it('reads sysfs IDs and tells a PF from a VF, Intel only', () => {
    assert.equal(pciId('0x4940\n'), '4940');
    assert.equal(pciId('0x37C9'), '37c9');
    assert.equal(pciId('garbage'), null);
    assert.equal(pfFamily('8086', '4940')?.name, '4xxx');
    assert.equal(vfFamily('8086', '4940'), undefined);
    assert.equal(vfFamily('8086', '37c9')?.name, 'c6xx');
    assert.equal(pfFamily('15b3', '4940'), undefined, 'another vendor');
    assert.equal(vfFamily('8086', null), undefined);
  });
});

describe('resource names', () => {
  it('maps cfg_services to Intel\'s resource suffixes, in either order', () => {
    const cases: [string, string | null][] = [
      ['sym;asym', 'cy'],
      ['asym;sym\n', 'cy'],
      ['dc', 'dc'],
      ['sym', 'sym'],
      ['asym', 'asym'],
      ['asym;dc', 'asym-dc'],
      ['dc;asym', 'asym-dc'],
      ['sym;dc', 'sym-dc'],
      ['dc;sym', 'sym-dc'],
      ['sym;asym;dc', null],
      ['dcc', null],
      ['sym;sym', null],
      ['', null],
    ];
    for (const [services, suffix] of cases) assert.equal(servicesSuffix(services), suffix, JSON.stringify(services));
  });

  it('names by service only with --resource-naming services, on Gen4, with a readable cfg_services', () => {
    assert.equal(resourceName('generic', { gen4: true, cfgServices: 'dc' }), 'qat.intel.com/generic');
    assert.equal(resourceName('services', { gen4: true, cfgServices: 'dc' }), 'qat.intel.com/dc');
    assert.equal(resourceName('services', { gen4: true, cfgServices: 'sym;dc' }), 'qat.intel.com/sym-dc');
    assert.equal(resourceName('services', { gen4: false, cfgServices: 'dc' }), 'qat.intel.com/generic', 'c6xx has no services');
    assert.equal(resourceName('services', { gen4: true, cfgServices: null }), 'qat.intel.com/generic', 'no PF in sight');
    assert.equal(resourceName('services', { gen4: true, cfgServices: 'decomp' }), 'qat.intel.com/generic', 'a grouping Gatehouse does not name');
  });

  it('gives each resource its own socket file name', () => {
    assert.equal(socketName('qat.intel.com/generic'), 'gatehouse-qat-generic.sock');
    assert.equal(socketName('qat.intel.com/asym-dc'), 'gatehouse-qat-asym-dc.sock');
  });
});
