/* Fanhub pages: HLS players, live posts and comments, local times, view counting.
 * No build step, no inline script (the CSP forbids it). User text is only ever set with
 * textContent: nothing received from the server or a socket is parsed as HTML here. */
(function () {
  'use strict';

  var HLS_TYPE = 'application/vnd.apple.mpegurl';

  function pad(n) { return (n < 10 ? '0' : '') + n; }

  function localTime(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return ''; }
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes());
  }

  function localizeTimes(root) {
    var times = (root || document).querySelectorAll('time[datetime]');
    for (var i = 0; i < times.length; i++) {
      var text = localTime(times[i].getAttribute('datetime'));
      if (text) { times[i].textContent = text; }
    }
  }

  function deviceId() {
    var key = 'fanhub-device';
    try {
      var id = window.localStorage.getItem(key);
      if (id) { return id; }
      var bytes = new Uint8Array(16);
      window.crypto.getRandomValues(bytes);
      id = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join('');
      window.localStorage.setItem(key, id);
      return id;
    } catch (e) {
      return 'anonymous-page';
    }
  }

  function countView(postId) {
    if (!postId || !window.fetch) { return; }
    window.fetch('/api/v1/posts/' + encodeURIComponent(postId) + '/view', {
      method: 'POST', credentials: 'omit', headers: { 'X-Device-Id': deviceId() }
    }).catch(function () { /* views are best effort */ });
  }

  /* Native HLS on Safari and iOS; hls.js (Media Source Extensions) elsewhere, attached on the
   * first play so a page of posters costs no playlist requests (and shows no spinner). The
   * MP4 <source> inside the element is the fallback when neither is available. */
  function attachHls(video, src) {
    var Hls = window.Hls;
    var hls = new Hls({ capLevelToPlayerSize: true });
    hls.on(Hls.Events.MANIFEST_PARSED, function () {
      var playing = video.play();
      if (playing && playing.catch) { playing.catch(function () { /* the user paused meanwhile */ }); }
    });
    hls.on(Hls.Events.ERROR, function (event, data) {
      if (!data.fatal) { return; }
      if (data.type === Hls.ErrorTypes.NETWORK_ERROR) { hls.startLoad(); return; }
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR) { hls.recoverMediaError(); return; }
      hls.destroy();
      video.removeAttribute('src');
      video.load(); /* back to the MP4 <source> */
    });
    hls.loadSource(src);
    hls.attachMedia(video);
    video.setAttribute('data-attached', 'true');
  }

  function setupPlayer(video) {
    if (video.getAttribute('data-player') || !video.getAttribute('data-hls')) { return; }
    var src = video.getAttribute('data-hls');
    var hasHlsJs = !!(window.Hls && window.Hls.isSupported());
    var native = video.canPlayType(HLS_TYPE) !== '';
    var apple = /Apple/.test(navigator.vendor || '');
    if (native && (apple || !hasHlsJs)) {
      video.src = src;
      video.setAttribute('data-player', 'native');
    } else if (hasHlsJs) {
      video.setAttribute('data-player', 'hls.js');
      video.addEventListener('play', function () {
        if (!video.getAttribute('data-attached')) { attachHls(video, src); }
      });
    } else {
      video.setAttribute('data-player', 'mp4');
    }
    video.addEventListener('playing', function () {
      countView(video.getAttribute('data-post-id'));
    }, { once: true });
  }

  function setupPlayers(root) {
    var videos = (root || document).querySelectorAll('video[data-hls]');
    for (var i = 0; i < videos.length; i++) { setupPlayer(videos[i]); }
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function count(label, value) {
    var span = el('span', 'count', label + ' ');
    var data = el('data', null, Number(value || 0).toLocaleString('en-US'));
    data.value = String(value || 0);
    span.appendChild(data);
    return span;
  }

  function accountUrl(username) { return '/m/' + encodeURIComponent(username); }

  function postUrl(post) {
    return accountUrl(post.author.username) + '/p/' + encodeURIComponent(post.id);
  }

  function readyVideo(post) {
    var media = post.media || [];
    for (var i = 0; i < media.length; i++) {
      if (media[i].type === 'video' && media[i].status === 'ready' && media[i].hls_url) { return media[i]; }
    }
    return null;
  }

  /* The same card as the server's post_card macro, built from JSON with textContent only. */
  function postCard(post) {
    var card = el('article', 'post kind-' + post.kind + ' live-new');
    card.setAttribute('data-post-id', post.id);
    var head = el('header');
    var author = el('a', 'author', post.author.display_name);
    author.href = accountUrl(post.author.username);
    head.appendChild(author);
    if (post.author.verified) {
      var badge = el('span', 'verified', '\u2714');
      badge.title = '已认证';
      head.appendChild(badge);
    }
    var time = el('time', null, localTime(post.created_at));
    time.setAttribute('datetime', post.created_at);
    head.appendChild(time);
    card.appendChild(head);
    if (post.title) {
      var title = el('h3', 'title');
      var link = el('a', null, post.title);
      link.href = postUrl(post);
      title.appendChild(link);
      card.appendChild(title);
    }
    if (post.text) { card.appendChild(el('p', 'text', post.text)); }
    var media = readyVideo(post);
    if (media) {
      var video = el('video', 'player');
      video.controls = true;
      video.setAttribute('playsinline', '');
      video.preload = 'none';
      if (media.poster_url) { video.poster = media.poster_url; }
      video.setAttribute('data-hls', media.hls_url);
      video.setAttribute('data-post-id', post.id);
      if (media.renditions && media.renditions.length) {
        var source = el('source');
        source.src = media.renditions[0].url;
        source.type = 'video/mp4';
        video.appendChild(source);
      }
      card.appendChild(video);
      setupPlayer(video);
    }
    var foot = el('footer');
    foot.appendChild(count('赞', post.like_count));
    foot.appendChild(count('评论', post.comment_count));
    foot.appendChild(count('播放', post.view_count));
    var more = el('a', 'more', '查看');
    more.href = postUrl(post);
    foot.appendChild(more);
    card.appendChild(foot);
    return card;
  }

  function prepend(container, node) {
    var empty = container.querySelector('.empty');
    if (empty) { empty.remove(); }
    container.insertBefore(node, container.firstChild);
  }

  function alreadyShown(id) {
    return !!document.querySelector('[data-post-id="' + (window.CSS && CSS.escape ? CSS.escape(id) : id) + '"].post');
  }

  function connect() {
    if (typeof window.io !== 'function') { return null; }
    var socket = window.io({ withCredentials: true });
    socket.on('connect_error', function () { document.documentElement.setAttribute('data-live', 'error'); });
    socket.on('disconnect', function () { document.documentElement.setAttribute('data-live', 'offline'); });
    return socket;
  }

  function subscribe(socket, payload) {
    socket.on('connect', function () {
      socket.emit('subscribe', payload, function (ack) {
        document.documentElement.setAttribute('data-live', ack && ack.ok ? 'subscribed' : 'refused');
      });
    });
  }

  /* Account page: new posts of the account appear at the top of their section. */
  function liveAccount(page) {
    var accountId = page.getAttribute('data-account-id');
    var socket = connect();
    if (!socket || !accountId) { return; }
    subscribe(socket, { account_id: accountId });
    socket.on('account.post', function (data) {
      var post = data && data.post;
      if (!post || !post.author || post.author.id !== accountId || alreadyShown(post.id)) { return; }
      var target = page.querySelector(post.kind === 'video' ? '[data-live="videos"]' : '[data-live="posts"]');
      if (target) { prepend(target, postCard(post)); }
    });
  }

  /* Post page: new comments and fresh counts. */
  function livePost(page) {
    var postId = page.getAttribute('data-post-id');
    var socket = connect();
    if (!socket || !postId) { return; }
    subscribe(socket, { post_id: postId });
    socket.on('comment.new', function (data) {
      var comment = data && data.comment;
      var list = page.querySelector('[data-live="comments"]');
      if (!comment || data.post_id !== postId || !list ||
          list.querySelector('[data-comment-id="' + (window.CSS && CSS.escape ? CSS.escape(comment.id) : comment.id) + '"]')) { return; }
      var item = el('li', 'comment');
      item.setAttribute('data-comment-id', comment.id);
      item.appendChild(el('span', 'author', comment.author ? comment.author.display_name : '已注销用户'));
      var time = el('time', null, localTime(comment.created_at));
      time.setAttribute('datetime', comment.created_at);
      item.appendChild(time);
      item.appendChild(el('p', 'text', comment.text));
      prepend(list, item);
    });
    socket.on('post.counts', function (data) {
      if (!data || data.post_id !== postId) { return; }
      var card = page.querySelector('.post[data-post-id]');
      if (!card) { return; }
      var values = card.querySelectorAll('footer data');
      var counts = [data.like_count, data.comment_count, data.view_count];
      for (var i = 0; i < values.length && i < counts.length; i++) {
        values[i].value = counts[i];
        values[i].textContent = Number(counts[i]).toLocaleString('en-US');
      }
    });
  }

  function start() {
    localizeTimes(document);
    setupPlayers(document);
    var account = document.querySelector('.account[data-account-id]');
    if (account) { liveAccount(account); }
    var single = document.querySelector('.single[data-post-id]');
    if (single) { livePost(single); }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
