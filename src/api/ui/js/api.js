// api.js — same-origin calls to the catalogue API. The page lives at <prefix>/ui, the API beside
// it at <prefix>/recordings, <prefix>/sessions; a `code` (function key) in the page's URL is
// forwarded on every call, and `limit` sets the table's page size.
const pageParams = new URLSearchParams(window.location.search);
const FUNCTION_KEY = pageParams.get('code');
const PAGE_SIZE = clampInt(pageParams.get('limit'), 1, 1000, 50);
const API_BASE = window.location.pathname.replace(/\/ui\/?$/, '/');
// Bounds for the timeline, which reads every page of the range.
const TIMELINE_PAGE = 1000;
const TIMELINE_MAX_PAGES = 20;

function clampInt(text, lo, hi, fallback) {
  const n = Number.parseInt(text || '', 10);
  return Number.isFinite(n) && n >= lo && n <= hi ? n : fallback;
}

function apiUrl(path, query) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  if (FUNCTION_KEY) q.set('code', FUNCTION_KEY);
  return API_BASE + path + '?' + q.toString();
}

class ApiError extends Error {
  constructor(status, detail) {
    super(status ? `${status}: ${detail}` : detail);
    this.status = status;
  }
}

// GET → parsed JSON; problem documents become an ApiError carrying their `detail`.
async function getJson(path, query) {
  let res;
  try {
    res = await fetch(apiUrl(path, query), {
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'the API could not be reached');
  }
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    body = null;
  }
  if (!res.ok) {
    const detail = body && typeof body.detail === 'string' ? body.detail : res.statusText;
    throw new ApiError(res.status, detail || 'request failed');
  }
  if (!body || !Array.isArray(body.items)) throw new ApiError(res.status, 'unexpected response');
  return body;
}

// Every page of a query, up to TIMELINE_MAX_PAGES; `truncated` when more remained.
async function getAll(path, query) {
  const items = [];
  let continuation = null;
  for (let page = 0; page < TIMELINE_MAX_PAGES; page += 1) {
    const body = await getJson(path, { ...query, limit: TIMELINE_PAGE, continuation });
    items.push(...body.items);
    continuation = typeof body.continuation === 'string' ? body.continuation : null;
    if (!continuation) return { items, truncated: false };
  }
  return { items, truncated: true };
}

// GET → parsed JSON of a single document (a recording's detail, the queue).
async function getDoc(path, query) {
  let res;
  try {
    res = await fetch(apiUrl(path, query || {}), {
      headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'the API could not be reached');
  }
  const body = await res.json().catch(() => null);
  if (!res.ok || !body) throw new ApiError(res.status, (body && str(body.detail)) || res.statusText || 'request failed');
  return body;
}
