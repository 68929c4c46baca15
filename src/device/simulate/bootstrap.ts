// A fleet flashed from an enrollment export (fota enroll export): the device ids and
// their DM bootstrap files come from the export's manifest.csv, and each simulated device
// starts with nothing but its file (no registration, no credentials of the simulator's).
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { AppError } from '../../errors.ts';

export interface FlashedFleet {
  ids: string[];
  /** Device id -> its bootstrap file (the DM bootstrap WBXML). */
  files: ReadonlyMap<string, string>;
  /** The batch's model, as the manifest names it. */
  model: string;
}

export async function readExport(dir: string): Promise<FlashedFleet> {
  const path = join(dir, 'manifest.csv');
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new AppError('VALIDATION', `${dir} has no manifest.csv: give the directory fota enroll export wrote`);
    throw err;
  });
  const [header, ...rows] = text.split(/\r?\n/).filter((line) => line !== '').map(csvRow);
  const column = (name: string) => {
    const at = header?.indexOf(name) ?? -1;
    if (at < 0) throw new AppError('VALIDATION', `${path} has no ${name} column`);
    return at;
  };
  const [idAt, modelAt, fileAt] = [column('device_id'), column('model'), column('dm_wbxml')];
  const files = new Map<string, string>();
  let model = '';
  for (const row of rows) {
    const id = row[idAt] ?? '';
    const file = row[fileAt] ?? '';
    const inside = relative(dir, join(dir, file));
    if (id === '' || file === '' || isAbsolute(file) || inside.startsWith('..')) throw new AppError('VALIDATION', `${path}: a row without a device id or with a file outside the export (${JSON.stringify(file.slice(0, 64))})`);
    if (files.has(id)) throw new AppError('VALIDATION', `${path} lists device ${id} twice`);
    files.set(id, join(dir, file));
    model = row[modelAt] ?? model;
  }
  if (files.size === 0) throw new AppError('VALIDATION', `${path} lists no devices`);
  return { ids: [...files.keys()], files, model };
}

/** One CSV line: fields separated by commas, "quoted" where they hold commas or quotes. */
function csvRow(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}
