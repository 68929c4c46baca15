// Registering a device and editing its tags from the console. The form becomes the API's
// request and goes through its schema and registerDevice; passwords are never written back
// into a page, not even into the form shown again after a refusal.
import { type RegisterDevice, registerDeviceSchema } from '../devices/schemas.ts';
import type { FormValues } from './campaign-new.tsx';

const str = (v: FormValues, key: string): string => {
  const value = v[key];
  return (Array.isArray(value) ? (value[0] ?? '') : (value ?? '')).trim();
};

/** Tags as typed: separated by commas or spaces. */
export const tagList = (s: string): string[] => [...new Set(s.split(/[\s,]+/).filter(Boolean))];

const FIELDS: Record<string, string> = { id: 'device id', model: 'model', firmwareVersion: 'firmware', tags: 'tags', credentials: 'DM account', serverPassword: 'server password', webhookUrl: 'webhook URL' };

export function registerRequest(v: FormValues): { ok: true; request: RegisterDevice } | { ok: false; error: string } {
  const id = str(v, 'id');
  const tags = tagList(str(v, 'tags'));
  const input = {
    id,
    model: str(v, 'model'),
    ...(str(v, 'firmwareVersion') ? { firmwareVersion: str(v, 'firmwareVersion') } : {}),
    ...(tags.length ? { tags } : {}),
    credentials: { username: str(v, 'username') || id, password: str(v, 'password'), authType: str(v, 'authType') || 'md5' },
    ...(str(v, 'serverPassword') ? { serverPassword: str(v, 'serverPassword') } : {}),
  };
  const parsed = registerDeviceSchema.safeParse(input);
  if (parsed.success) return { ok: true, request: parsed.data };
  const issue = parsed.error.issues[0];
  const path = issue?.path.map(String) ?? [];
  const field = path[0] === 'credentials' ? (path[1] === 'password' ? 'DM password' : `DM ${path[1] ?? 'account'}`) : (FIELDS[path[0] ?? ''] ?? path[0]);
  return { ok: false, error: `${field ? `${field}: ` : ''}${issue?.message ?? 'invalid device'}` };
}

function Field(props: { name: string; label: string; values: FormValues; size?: number; type?: string; placeholder?: string }) {
  // Password fields always start empty.
  const value = props.type === 'password' ? '' : str(props.values, props.name);
  return (
    <label>
      {props.label}
      <input name={props.name} value={value} type={props.type} size={props.size ?? 16} placeholder={props.placeholder} autocomplete={props.type === 'password' ? 'new-password' : 'off'} spellcheck={false} data-testid={`register-${props.name}`} />
    </label>
  );
}

export function RegisterDeviceContent(props: { values: FormValues }) {
  const v = props.values;
  return (
    <>
      <p>
        <a href="/devices">← Devices</a>
      </p>
      <h1>Register a device</h1>
      <form method="post" action="/devices/new" class="card form" data-testid="register-device">
        <fieldset>
          <legend>Device</legend>
          <Field name="id" label="device id (DevId)" values={v} size={24} />
          <Field name="model" label="model" values={v} />
          <Field name="firmwareVersion" label="firmware it runs" values={v} size={8} placeholder="unknown" />
          <Field name="tags" label="tags" values={v} size={20} placeholder="eu, lab" />
        </fieldset>
        <fieldset>
          <legend>DM account: what the device authenticates with</legend>
          <Field name="username" label="user name" values={v} placeholder="the device id" />
          <Field name="password" label="password (8+ characters)" values={v} type="password" />
          <label>
            auth
            <select name="authType" data-testid="register-authType">
              {(['md5', 'basic', 'hmac'] as const).map((t) => (
                <option value={t} selected={str(v, 'authType') === t}>
                  {t}
                </option>
              ))}
            </select>
          </label>
          <Field name="serverPassword" label="server password (optional)" values={v} type="password" />
        </fieldset>
        <button class="primary" type="submit" data-testid="register-submit">
          Register
        </button>
      </form>
    </>
  );
}

export function DeviceTagsForm(props: { id: string; tags: string[] }) {
  return (
    <form method="post" action={`/devices/${encodeURIComponent(props.id)}/tags`} class="actions" data-testid="tags-form">
      <label>
        tags (comma-separated)
        <input name="tags" value={props.tags.join(', ')} size={30} autocomplete="off" spellcheck={false} data-testid="tags-input" />
      </label>
      <button type="submit" data-testid="tags-save">
        Save tags
      </button>
    </form>
  );
}
