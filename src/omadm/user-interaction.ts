// DM 1.2 user-interaction alerts: the server asks the device to show its user something
// and answer. 1100 display, 1101 confirm or reject, 1102 text input, 1103 single choice,
// 1104 multiple choice. The first Item's Data holds the options as `NAME=value` pairs
// joined by `&` (MINDT, MAXDT in seconds, DR default response, MAXLEN, IT input type, ET
// echo type); the next Item holds the prompt; choice alerts list one Item per choice. The
// answer is the device's Status on the Alert: 200 (Items carry the text or the chosen
// choice numbers), 304 rejected, 214 cancelled, 408 timed out, 406 not supported. Both
// sides use this module: the server to ask and read answers, the reference agent to show
// and reply. No I/O.
import { AppError } from '../errors.ts';
import type { AlertCommand, Item, StatusCommand } from './codec/message.ts';

export const UI_ALERT_CODES = { display: '1100', confirm: '1101', text: '1102', single: '1103', multiple: '1104' } as const;
export type UiKind = keyof typeof UI_ALERT_CODES;

export interface UiOptions {
  /** Shortest time the prompt is shown (seconds). */
  minSeconds?: number;
  /** Longest wait for the user (seconds): silence past it is the default response. */
  maxSeconds?: number;
  /** Default response: "1"/"0" for confirm, the text for input, choice numbers ("2", "1-3") for choices. */
  defaultResponse?: string;
  /** Longest text input. */
  maxLength?: number;
  /** Input type for 1102: A alphanumeric, N numeric, D date, T time, P phone, I IP address. */
  inputType?: 'A' | 'N' | 'D' | 'T' | 'P' | 'I';
  /** Echo type for 1102: T text, P password (masked). */
  echoType?: 'T' | 'P';
}

export interface UiPrompt {
  kind: UiKind;
  text: string;
  options: UiOptions;
  /** The choices of 1103/1104, numbered from 1 in this order. */
  choices?: string[];
}

/** How the user answered, as the device's Status tells it. */
export type UiOutcome = 'accepted' | 'rejected' | 'cancelled' | 'timeout' | 'unsupported' | 'failed';

export interface UiAnswer {
  outcome: UiOutcome;
  /** The Status code. */
  code: number;
  /** Text typed (1102) or choice numbers picked (1103/1104), as strings. */
  values: string[];
}

/** Prompts, choices and option values are bounded: they reach a small screen, and an answer must fit a message. */
export const UI_LIMITS = { text: 1000, choices: 32, choice: 200, seconds: 24 * 3600, maxLength: 1000 } as const;

function invalid(message: string): never {
  throw new AppError('VALIDATION', message);
}

const KINDS = Object.fromEntries(Object.entries(UI_ALERT_CODES).map(([kind, code]) => [code, kind])) as Record<string, UiKind>;

/** The kind of a UI alert code ("1101" -> confirm); undefined for any other alert. */
export function uiKindOf(code: string): UiKind | undefined {
  return Object.hasOwn(KINDS, code.trim()) ? KINDS[code.trim()] : undefined;
}

/** The options Item's Data: `MINDT=5&MAXDT=60&DR=1`. Values with `&` or `=` are refused (they would not read back). */
export function encodeUiOptions(options: UiOptions): string {
  const pairs: Array<[string, string | number | undefined]> = [
    ['MINDT', options.minSeconds],
    ['MAXDT', options.maxSeconds],
    ['DR', options.defaultResponse],
    ['MAXLEN', options.maxLength],
    ['IT', options.inputType],
    ['ET', options.echoType],
  ];
  return pairs
    .filter((pair): pair is [string, string | number] => pair[1] !== undefined)
    .map(([name, value]) => {
      const text = String(value);
      if (/[&=]/.test(text)) invalid(`user-interaction option ${name} must not contain "&" or "="`);
      return `${name}=${text}`;
    })
    .join('&');
}

const seconds = (name: string, text: string): number => {
  if (!/^\d{1,6}$/.test(text) || Number(text) > UI_LIMITS.seconds) invalid(`user-interaction option ${name}=${text} is not a number of seconds up to ${UI_LIMITS.seconds}`);
  return Number(text);
};

/** Reads the options Item's Data; unknown names are ignored (vendors add their own), malformed values refused. */
export function decodeUiOptions(text: string): UiOptions {
  const options: UiOptions = {};
  for (const pair of text.split('&')) {
    if (pair.trim() === '') continue;
    const at = pair.indexOf('=');
    const name = (at < 0 ? pair : pair.slice(0, at)).trim().toUpperCase();
    const value = at < 0 ? '' : pair.slice(at + 1).trim();
    switch (name) {
      case 'MINDT':
        options.minSeconds = seconds(name, value);
        break;
      case 'MAXDT':
        options.maxSeconds = seconds(name, value);
        break;
      case 'DR':
        options.defaultResponse = value;
        break;
      case 'MAXLEN':
        if (!/^\d{1,4}$/.test(value)) invalid(`user-interaction option MAXLEN=${value} is not a length`);
        options.maxLength = Number(value);
        break;
      case 'IT':
        if (!['A', 'N', 'D', 'T', 'P', 'I'].includes(value)) invalid(`user-interaction option IT=${value} is not one of A N D T P I`);
        options.inputType = value as UiOptions['inputType'] & string;
        break;
      case 'ET':
        if (value !== 'T' && value !== 'P') invalid(`user-interaction option ET=${value} is not T or P`);
        options.echoType = value;
        break;
      default:
        break;
    }
  }
  return options;
}

/** Checks a prompt before it is sent, so a bad one fails where it is made, not on a device. */
export function checkUiPrompt(prompt: UiPrompt): UiPrompt {
  if (prompt.text.length === 0 || prompt.text.length > UI_LIMITS.text) invalid(`a user prompt has 1 to ${UI_LIMITS.text} characters`);
  const { minSeconds, maxSeconds } = prompt.options;
  if (minSeconds !== undefined && maxSeconds !== undefined && minSeconds > maxSeconds) invalid('MINDT must not exceed MAXDT');
  const choosing = prompt.kind === 'single' || prompt.kind === 'multiple';
  if (choosing && (!prompt.choices || prompt.choices.length === 0 || prompt.choices.length > UI_LIMITS.choices)) invalid(`a choice alert lists 1 to ${UI_LIMITS.choices} choices`);
  if (!choosing && prompt.choices !== undefined) invalid(`a ${prompt.kind} alert has no choices`);
  if (prompt.choices?.some((c) => c.length === 0 || c.length > UI_LIMITS.choice)) invalid(`each choice has 1 to ${UI_LIMITS.choice} characters`);
  if (prompt.kind === 'confirm' && prompt.options.defaultResponse !== undefined && !['0', '1'].includes(prompt.options.defaultResponse)) invalid('the default response of a confirm alert is 1 (accept) or 0 (reject)');
  encodeUiOptions(prompt.options);
  return prompt;
}

/** The Alert a prompt becomes: options Item, prompt Item, one Item per choice. */
export function uiAlert(prompt: UiPrompt, cmdId: number, correlator?: string): AlertCommand {
  checkUiPrompt(prompt);
  const items: Item[] = [{ data: encodeUiOptions(prompt.options) }, { data: prompt.text }, ...(prompt.choices ?? []).map((choice) => ({ data: choice }))];
  return { kind: 'Alert', cmdId, data: UI_ALERT_CODES[prompt.kind], ...(correlator === undefined ? {} : { correlator }), items };
}

const textOf = (data: Item['data']): string => (data === undefined ? '' : typeof data === 'string' ? data : new TextDecoder().decode(data));

/** A UI Alert as the device reads it; undefined for other alerts; VALIDATION for a malformed one. */
export function readUiAlert(alert: AlertCommand): UiPrompt | undefined {
  const kind = uiKindOf(alert.data);
  if (kind === undefined) return undefined;
  const [options, text, ...rest] = alert.items.map((item) => textOf(item.data));
  if (text === undefined) invalid(`UI alert ${alert.data} has no prompt Item`);
  const prompt: UiPrompt = { kind, text, options: decodeUiOptions(options ?? '') };
  if (kind === 'single' || kind === 'multiple') prompt.choices = rest;
  return checkUiPrompt(prompt);
}

/** Choice numbers from answer Items: one Item each, or "1-3" style in one (DR uses dashes). */
function choiceNumbers(values: string[]): string[] {
  return values.flatMap((v) => v.split('-')).map((v) => v.trim()).filter((v) => v !== '');
}

/** What the device's Status on a UI alert says about its user's answer. */
export function uiAnswerOf(kind: UiKind, status: Pick<StatusCommand, 'data' | 'items'>): UiAnswer {
  const code = Number(status.data.trim());
  const raw = status.items.map((item) => textOf(item.data));
  const values = kind === 'single' || kind === 'multiple' ? choiceNumbers(raw) : kind === 'text' ? raw.slice(0, 1) : [];
  const outcome: UiOutcome = code === 200 ? 'accepted' : code === 304 ? 'rejected' : code === 214 ? 'cancelled' : code === 408 ? 'timeout' : code === 406 ? 'unsupported' : 'failed';
  return { outcome, code: Number.isInteger(code) ? code : 0, values };
}

/** The device side: the Status code and Items that carry an answer. */
export function uiStatusOf(kind: UiKind, answer: { outcome: UiOutcome; values?: string[] }): { code: number; items: Item[] } {
  const code = { accepted: 200, rejected: 304, cancelled: 214, timeout: 408, unsupported: 406, failed: 500 }[answer.outcome];
  const carries = answer.outcome === 'accepted' && (kind === 'text' || kind === 'single' || kind === 'multiple');
  return { code, items: carries ? (answer.values ?? []).map((value) => ({ data: value })) : [] };
}

/**
 * What silence past MAXDT means: the default response when there is one (confirm: DR=1
 * accepts, DR=0 rejects; input and choices: DR is the answer), else a timeout.
 */
export function defaultAnswer(prompt: UiPrompt): { outcome: UiOutcome; values: string[] } {
  const dr = prompt.options.defaultResponse;
  if (prompt.kind === 'display') return { outcome: 'accepted', values: [] };
  if (dr === undefined) return { outcome: 'timeout', values: [] };
  if (prompt.kind === 'confirm') return { outcome: dr === '1' ? 'accepted' : 'rejected', values: [] };
  return { outcome: 'accepted', values: prompt.kind === 'text' ? [dr] : choiceNumbers([dr]) };
}
