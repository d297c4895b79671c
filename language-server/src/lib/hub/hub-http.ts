// The Hugging Face Hub over HTTP for the downloader: settings from the environment as huggingface_hub
// reads them (HF_ENDPOINT, HF_TOKEN or the token file, HF_HUB_OFFLINE, proxies), GET with manual
// redirects (the Hub's headers are read before a redirect to the CDN), and errors told apart by the
// Hub's X-Error-Code header. node:http/https, no dependencies: a proxy is reached by absolute-form
// requests (http) or CONNECT (https), which Node's fetch would not do without a library.
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tls from 'node:tls';
import { hubCacheDir } from '../../config/node-fs';

export interface HubSettings {
  /** HF_ENDPOINT without a trailing slash (https://huggingface.co by default). */
  endpoint: string;
  /** HF_TOKEN, else the token file ($HF_TOKEN_PATH, else $HF_HOME/token). */
  token?: string;
  /** HF_HUB_OFFLINE: use the cache only. */
  offline: boolean;
  cacheDir: string;
  /** The proxy environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY, upper or lower case). */
  proxy: { https?: string; http?: string; noProxy: string[] };
}

const TRUE_VALUES = new Set(['1', 'ON', 'YES', 'TRUE']);

function hfHome(env: NodeJS.ProcessEnv, home: string): string {
  if (env.HF_HOME) return resolve(env.HF_HOME);
  return join(env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(home, '.cache'), 'huggingface');
}

function readToken(env: NodeJS.ProcessEnv, home: string): string | undefined {
  const fromEnv = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN;
  if (fromEnv) return fromEnv.trim();
  try {
    return readFileSync(env.HF_TOKEN_PATH ? resolve(env.HF_TOKEN_PATH) : join(hfHome(env, home), 'token'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The Hub settings of this process's environment. */
export function hubSettings(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): HubSettings {
  const pick = (name: string) => env[name] || env[name.toLowerCase()] || undefined;
  return {
    endpoint: (env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, ''),
    token: readToken(env, home),
    offline: TRUE_VALUES.has((env.HF_HUB_OFFLINE ?? '').toUpperCase()),
    cacheDir: hubCacheDir(env, home),
    proxy: {
      https: pick('HTTPS_PROXY'),
      http: pick('HTTP_PROXY'),
      noProxy: (pick('NO_PROXY') ?? '')
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
    },
  };
}

export type HubErrorCode =
  | 'GatedRepo'
  | 'RepoNotFound'
  | 'RevisionNotFound'
  | 'EntryNotFound'
  | 'Unauthorized'
  | 'HttpError'
  | 'Offline'
  | 'Checksum'
  | 'DiskFull'
  | 'Network'
  | 'Cancelled'
  | 'BadResponse'
  | 'BadRequest';

/** A failed Hub operation: `code` tells the cases apart, `message` says what to do. */
export class HubError extends Error {
  constructor(
    readonly code: HubErrorCode,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

/** What a request was for, to name it in an error. */
export interface HubTarget {
  repo: string;
  revision: string;
  file?: string;
}

/** The error of a Hub response with status >= 400, by its X-Error-Code header first, the status second. */
export function hubErrorOf(status: number, headers: http.IncomingHttpHeaders, target: HubTarget, endpoint: string): HubError {
  const code = String(headers['x-error-code'] ?? '');
  const id = `${target.repo}@${target.revision}`;
  const said = headers['x-error-message'] ? ` (the Hub says: ${String(headers['x-error-message']).slice(0, 200)})` : '';
  switch (code) {
    case 'GatedRepo':
      return new HubError(
        'GatedRepo',
        `${target.repo} is a gated model: accept the license on the model page (${endpoint}/${target.repo}) and set HF_TOKEN (or run 'huggingface-cli login')${said}.`,
        status,
      );
    case 'RepoNotFound':
      return new HubError('RepoNotFound', `${target.repo} was not found, or it is private: check the id and HF_TOKEN${said}.`, status);
    case 'RevisionNotFound':
      return new HubError(
        'RevisionNotFound',
        `revision ${target.revision} of ${target.repo} was not found: check the branch, tag or commit after '@'${said}.`,
        status,
      );
    case 'EntryNotFound':
      return new HubError('EntryNotFound', `${target.file ?? 'a file'} is not in ${id}${said}.`, status);
    default:
      break;
  }
  if (status === 401) return new HubError('Unauthorized', `the Hub refused the request for ${id} (401): check HF_TOKEN${said}.`, status);
  return new HubError(
    'HttpError',
    `the Hub answered ${status} for ${target.file ? `${target.file} of ` : ''}${id}${said}${status === 429 ? ': too many requests, try again later' : status >= 500 ? ': a server error, try again later' : ''}.`,
    status,
  );
}

function bypassesProxy(host: string, noProxy: string[]): boolean {
  const name = host.toLowerCase();
  return noProxy.some(
    (entry) => entry === '*' || name === entry.replace(/^\./, '') || name.endsWith(entry.startsWith('.') ? entry : `.${entry}`),
  );
}

/** The proxy URL for `url` (none for NO_PROXY hosts). */
export function proxyFor(url: URL, proxy: HubSettings['proxy']): URL | undefined {
  const chosen = url.protocol === 'https:' ? proxy.https : proxy.http;
  if (!chosen || bypassesProxy(url.hostname, proxy.noProxy)) return undefined;
  return new URL(chosen.includes('://') ? chosen : `http://${chosen}`);
}

function proxyAuth(proxy: URL): Record<string, string> {
  return proxy.username
    ? {
        'proxy-authorization': `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}`,
      }
    : {};
}

/** A TLS socket to `url`'s host through an HTTP proxy's CONNECT tunnel. */
function tunnel(url: URL, proxy: URL, signal?: AbortSignal): Promise<tls.TLSSocket> {
  return new Promise((resolvePromise, reject) => {
    const port = url.port || '443';
    const request = http.request({
      host: proxy.hostname,
      port: proxy.port || 80,
      method: 'CONNECT',
      path: `${url.hostname}:${port}`,
      headers: { host: `${url.hostname}:${port}`, ...proxyAuth(proxy) },
      signal,
    });
    request.once('connect', (response, socket) => {
      if (response.statusCode !== 200) {
        socket.destroy();
        reject(new HubError('Network', `the proxy ${proxy.host} refused CONNECT ${url.host} (${response.statusCode})`));
        return;
      }
      resolvePromise(tls.connect({ socket, servername: url.hostname }));
    });
    request.once('error', (error) => reject(error));
    request.end();
  });
}

function requestOnce(
  url: URL,
  headers: Record<string, string>,
  settings: HubSettings,
  signal?: AbortSignal,
): Promise<http.IncomingMessage> {
  return new Promise((resolvePromise, reject) => {
    const proxy = proxyFor(url, settings.proxy);
    const go = (socket?: tls.TLSSocket) => {
      const options: https.RequestOptions = { method: 'GET', headers, signal };
      let request: http.ClientRequest;
      if (proxy && url.protocol === 'http:') {
        request = http.request({
          ...options,
          host: proxy.hostname,
          port: proxy.port || 80,
          path: url.href,
          headers: { ...headers, host: url.host, ...proxyAuth(proxy) },
        });
      } else if (url.protocol === 'https:') {
        request = https.request(url, socket ? { ...options, agent: false, createConnection: () => socket } : options);
      } else {
        request = http.request(url, options);
      }
      request.once('response', resolvePromise);
      request.once('error', reject);
      request.end();
    };
    if (proxy && url.protocol === 'https:') tunnel(url, proxy, signal).then(go, reject);
    else go();
  });
}

/** Response metadata the Hub sends on resolve/<rev>/<file> (kept from the first response that has each). */
export interface HubFileHeaders {
  commit?: string;
  /** X-Linked-Etag: the sha256 of an LFS file. */
  linkedEtag?: string;
  linkedSize?: number;
  /** ETag: a git blob sha1 for a non-LFS file. */
  etag?: string;
}

function unquote(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return String(value).replace(/^W\//, '').replace(/^"|"$/g, '');
}

/**
 * GET `url`, following redirects by hand (at most 10): the token goes only to the endpoint's host;
 * the Hub headers are taken from the first response that has them. Rejects with a HubError for a
 * status >= 400 (read from X-Error-Code); the caller reads and closes the body.
 */
export async function hubGet(
  url: string,
  settings: HubSettings,
  target: HubTarget,
  extraHeaders: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<{ response: http.IncomingMessage; meta: HubFileHeaders }> {
  const endpointHost = new URL(settings.endpoint).host;
  const meta: HubFileHeaders = {};
  let current = new URL(url);
  for (let hop = 0; hop <= 10; hop++) {
    const headers: Record<string, string> = { 'user-agent': 'lora-lab', ...extraHeaders };
    if (settings.token && current.host === endpointHost) headers.authorization = `Bearer ${settings.token}`;
    let response: http.IncomingMessage;
    try {
      response = await requestOnce(current, headers, settings, signal);
    } catch (error) {
      if (signal?.aborted) throw new HubError('Cancelled', 'the download was cancelled');
      throw new HubError('Network', `cannot reach ${current.host}: ${(error as Error).message}`);
    }
    meta.commit ??= unquote(response.headers['x-repo-commit']);
    meta.linkedEtag ??= unquote(response.headers['x-linked-etag']);
    meta.etag ??= unquote(response.headers.etag);
    if (meta.linkedSize === undefined && response.headers['x-linked-size']) meta.linkedSize = Number(response.headers['x-linked-size']);
    const status = response.statusCode ?? 0;
    if (status >= 300 && status < 400 && response.headers.location) {
      response.resume();
      current = new URL(response.headers.location, current);
      continue;
    }
    if (status >= 400) {
      response.resume();
      throw hubErrorOf(status, response.headers, target, settings.endpoint);
    }
    return { response, meta };
  }
  throw new HubError('BadResponse', `too many redirects for ${url}`);
}

/** GET a JSON document from the Hub. */
export async function hubGetJson(url: string, settings: HubSettings, target: HubTarget, signal?: AbortSignal): Promise<unknown> {
  const { response } = await hubGet(url, settings, target, { accept: 'application/json' }, signal);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of response) chunks.push(chunk as Buffer);
  } catch (error) {
    throw new HubError(signal?.aborted ? 'Cancelled' : 'Network', `reading ${url}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HubError('BadResponse', `${url} did not answer JSON`);
  }
}
