// The SCOMO vocabulary: alert types in their spellings, OperationComplete data in its forms
// and hostile ones, and result code meanings.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeScomoResult, isOperationComplete, operationCompleteData, parseOperationComplete } from '../../src/omadm/scomo.ts';

describe('OperationComplete alerts', () => {
  it.each([
    ['org.openmobilealliance.softwarecomponent.OperationComplete', true],
    ['org.openmobilealliance.dm.softwarecomponent.OperationComplete', true],
    ['Reversed-Domain-Name: org.openmobilealliance.softwarecomponent.operationcomplete', true],
    ['urn:oma:at:scomo:1.0:OperationComplete', true],
    ['org.openmobilealliance.dm.firmwareupdate.downloadandupdate', false],
    ['org.openmobilealliance.softwarecomponent.OperationComplete.evil', false],
  ])('%s is an OperationComplete: %s', (type, expected) => {
    expect(isOperationComplete(type)).toBe(expected);
  });

  it('reads the element form and a bare code; refuses what is no code in range', () => {
    expect(parseOperationComplete(operationCompleteData(1405, 'com.acme.<maps>'))).toEqual({ resultCode: 1405, identifier: 'com.acme.&lt;maps&gt;' });
    expect(parseOperationComplete(' 1200 ')).toEqual({ resultCode: 1200 });
    for (const bad of ['', '200', '<ResultCode>abc</ResultCode>', '<ResultCode>0999</ResultCode>', '<!DOCTYPE x [<!ENTITY a "1200">]><ResultCode>&a;</ResultCode>', `${'x'.repeat(10_000)}<ResultCode>1200</ResultCode>`]) {
      expect(parseOperationComplete(bad), bad.slice(0, 40)).toBeUndefined();
    }
  });

  it('never throws on any string', () => {
    fc.assert(fc.property(fc.string({ maxLength: 2000 }), (s) => {
      const got = parseOperationComplete(s);
      expect(got === undefined || (got.resultCode >= 1000 && got.resultCode <= 1999)).toBe(true);
    }));
  });

  it('names result codes', () => {
    expect(describeScomoResult(1408)).toBe('1408 remove failed');
    expect(describeScomoResult(1460)).toBe('1460 client error (vendor code)');
  });
});
