// The two things Node cannot do for a download (src/download/sendfile.ts): hand a file's
// bytes to a socket inside the kernel (Linux sendfile(2), no copy through JavaScript
// buffers), and say when a socket can take more without a write of its own pending.
//
//   sendFile(outFd, inFd, offset, length) -> bytes the socket took (>= 0), or -errno.
//       Non-blocking: stops when the socket is full (EAGAIN) or `length` bytes are out.
//       A file shorter than asked gives -ENODATA once nothing more can be sent.
//   watcherOpen(fd) -> watcher   a dup of the socket, watched by the event loop's poller
//   watcherWait(watcher, callback(status))   calls back once, when the socket is writable
//       (or hung up: status 0 then too, and the next sendFile says why; < 0: a libuv error)
//   watcherClose(watcher)        stops watching and closes the dup; safe to call twice
//   unsentBytes(fd) -> bytes the socket holds that the client has not acknowledged
//       (SIOCOUTQ), or -errno: whether a client is taking bytes, when no write of ours
//       says so (src/download/stall.ts)
//
// The watcher polls a dup, never Node's own descriptor: if Node closes the socket while a
// download waits, the number may be reused at once by another connection, and a poll on
// it would then watch (and report) the wrong one. The dup keeps the socket itself open
// until watcherClose, which the caller does on the response's 'close'.
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>
#ifdef __linux__
#include <sys/sendfile.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#endif

#define CHECK(env, call)                                           \
  do {                                                             \
    if ((call) != napi_ok) {                                       \
      napi_throw_error((env), NULL, "fota_sendfile: " #call);      \
      return NULL;                                                 \
    }                                                              \
  } while (0)

typedef struct watcher watcher_t;

// What the JavaScript object holds: outlives the watcher when JS keeps a closed one.
typedef struct {
  watcher_t* watcher;
} box_t;

struct watcher {
  uv_poll_t poll;
  int fd;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  box_t* box;
};

static napi_value number(napi_env env, double value) {
  napi_value result;
  CHECK(env, napi_create_double(env, value, &result));
  return result;
}

static int int_args(napi_env env, napi_callback_info info, size_t count, int64_t* out) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < count) return 0;
  // Whole numbers from 0 to 2^53 only: napi_get_value_int64 would take NaN, -1.5 or
  // Infinity as some integer, and a descriptor or an offset must never be a guess.
  for (size_t i = 0; i < count; i++) {
    double value;
    if (napi_get_value_double(env, argv[i], &value) != napi_ok) return 0;
    if (!(value >= 0 && value <= 9007199254740992.0) || value != (double)(int64_t)value) return 0;
    out[i] = (int64_t)value;
  }
  return 1;
}

static napi_value SendFile(napi_env env, napi_callback_info info) {
  int64_t a[4];
  if (!int_args(env, info, 4, a) || a[0] > INT32_MAX || a[1] > INT32_MAX) {
    napi_throw_type_error(env, NULL, "sendFile(outFd, inFd, offset, length) takes four integers >= 0");
    return NULL;
  }
#ifdef __linux__
  int out_fd = (int)a[0], in_fd = (int)a[1];
  off_t offset = (off_t)a[2];
  int64_t length = a[3], sent = 0;
  while (sent < length) {
    ssize_t n = sendfile(out_fd, in_fd, &offset, (size_t)(length - sent));
    if (n > 0) {
      sent += n;
    } else if (n == 0) {
      return number(env, sent > 0 ? (double)sent : -(double)ENODATA);
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else {
      // What went out is reported first; the next call meets the error again.
      return number(env, sent > 0 ? (double)sent : -(double)errno);
    }
  }
  return number(env, (double)sent);
#else
  return number(env, -(double)ENOSYS);
#endif
}

static void on_closed(uv_handle_t* handle) {
  watcher_t* w = (watcher_t*)handle->data;
  close(w->fd);
  free(w);
}

static void close_watcher(watcher_t* w) {
  if (w->callback) napi_delete_reference(w->env, w->callback);
  w->callback = NULL;
  napi_async_destroy(w->env, w->context);
  w->box->watcher = NULL;
  uv_poll_stop(&w->poll);
  uv_close((uv_handle_t*)&w->poll, on_closed);
}

static void on_poll(uv_poll_t* handle, int status, int events) {
  (void)events;
  watcher_t* w = (watcher_t*)handle->data;
  uv_poll_stop(&w->poll);
  napi_ref ref = w->callback;
  w->callback = NULL;
  if (!ref) return;
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    napi_delete_reference(env, ref);
    return;
  }
  // `this` must be an object for make_callback: the global one, as for a plain call.
  napi_value callback, global, argv[1], ignored;
  if (napi_get_reference_value(env, ref, &callback) == napi_ok && napi_get_global(env, &global) == napi_ok &&
      napi_create_int32(env, status, &argv[0]) == napi_ok) {
    napi_delete_reference(env, ref);
    // Through make_callback: an exception goes to the process as any callback's would,
    // and the callback's promises and nextTicks run before the poller moves on.
    napi_make_callback(env, w->context, global, callback, 1, argv, &ignored);
  } else {
    napi_delete_reference(env, ref);
  }
  napi_close_handle_scope(env, scope);
}

static void finalize_box(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  box_t* box = (box_t*)data;
  if (box->watcher) close_watcher(box->watcher);
  free(box);
}

static napi_value WatcherOpen(napi_env env, napi_callback_info info) {
  int64_t fd;
  if (!int_args(env, info, 1, &fd) || fd > INT32_MAX) {
    napi_throw_type_error(env, NULL, "watcherOpen(fd) takes a descriptor");
    return NULL;
  }
  uv_loop_t* loop;
  CHECK(env, napi_get_uv_event_loop(env, &loop));
  int copy = dup((int)fd);
  if (copy < 0) {
    napi_throw_error(env, NULL, "watcherOpen: cannot duplicate the socket's descriptor");
    return NULL;
  }
  watcher_t* w = calloc(1, sizeof(watcher_t));
  box_t* box = calloc(1, sizeof(box_t));
  if (!w || !box || uv_poll_init(loop, &w->poll, copy) != 0) {
    free(w);
    free(box);
    close(copy);
    napi_throw_error(env, NULL, "watcherOpen: cannot watch the socket");
    return NULL;
  }
  w->poll.data = w;
  w->fd = copy;
  w->env = env;
  w->box = box;
  box->watcher = w;
  napi_value name, result;
  if (napi_create_string_utf8(env, "fota.sendfile", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &w->context) != napi_ok ||
      napi_create_external(env, box, finalize_box, NULL, &result) != napi_ok) {
    // No JavaScript object owns the box, so no finalizer will free it.
    close_watcher(w);
    free(box);
    napi_throw_error(env, NULL, "watcherOpen: cannot create the watcher");
    return NULL;
  }
  return result;
}

static box_t* box_of(napi_env env, napi_value value) {
  void* data = NULL;
  napi_valuetype type;
  if (!value || napi_typeof(env, value, &type) != napi_ok || type != napi_external || napi_get_value_external(env, value, &data) != napi_ok) return NULL;
  return (box_t*)data;
}

static napi_value WatcherWait(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_valuetype type = napi_undefined;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  box_t* box = argc == 2 ? box_of(env, argv[0]) : NULL;
  if (!box || napi_typeof(env, argv[1], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "watcherWait(watcher, callback) takes a watcher and a function");
    return NULL;
  }
  watcher_t* w = box->watcher;
  if (!w) {
    napi_throw_error(env, NULL, "watcherWait: the watcher is closed");
    return NULL;
  }
  if (w->callback) napi_delete_reference(env, w->callback);
  CHECK(env, napi_create_reference(env, argv[1], 1, &w->callback));
  int status = uv_poll_start(&w->poll, UV_WRITABLE | UV_DISCONNECT, on_poll);
  if (status != 0) {
    napi_delete_reference(env, w->callback);
    w->callback = NULL;
    napi_throw_error(env, NULL, uv_strerror(status));
    return NULL;
  }
  return NULL;
}

static napi_value WatcherClose(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  box_t* box = argc == 1 ? box_of(env, argv[0]) : NULL;
  if (!box) {
    napi_throw_type_error(env, NULL, "watcherClose(watcher) takes a watcher");
    return NULL;
  }
  if (box->watcher) close_watcher(box->watcher);
  return NULL;
}

static napi_value UnsentBytes(napi_env env, napi_callback_info info) {
  int64_t a[1];
  if (!int_args(env, info, 1, a) || a[0] > INT32_MAX) {
    napi_throw_type_error(env, NULL, "unsentBytes(fd) takes an integer >= 0");
    return NULL;
  }
#ifdef __linux__
  int queued = 0;
  if (ioctl((int)a[0], SIOCOUTQ, &queued) < 0) return number(env, -(double)errno);
  return number(env, (double)queued);
#else
  return number(env, -(double)ENOSYS);
#endif
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"sendFile", NULL, SendFile, NULL, NULL, NULL, napi_enumerable, NULL},
      {"watcherOpen", NULL, WatcherOpen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"watcherWait", NULL, WatcherWait, NULL, NULL, NULL, napi_enumerable, NULL},
      {"watcherClose", NULL, WatcherClose, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unsentBytes", NULL, UnsentBytes, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof(methods) / sizeof(methods[0]), methods));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
