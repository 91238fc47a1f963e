;;; agent-bridge.el --- See an AI agent's changes through agent-bridge  -*- lexical-binding: t; -*-

;; Version: 0.2.0
;; Package-Requires: ((emacs "28.1") (jsonrpc "1.0.14"))
;; Keywords: tools, vc
;; URL: https://github.com/agentbridge/agent-bridge

;;; Commentary:

;; agent-bridge serves an AI agent's workspace (the OpenHands workspace
;; API) as JSON-RPC 2.0 over stdio.  This package spawns it with the
;; built-in jsonrpc.el (Content-Length framing) and lets a person keep
;; the agent's changes in view while it works, open their diffs, find a
;; file, download the workspace as a zip and send feedback:
;;
;;   M-x agent-bridge-changes          a live buffer of changes; RET opens a diff
;;   M-x agent-bridge-diff             diff one file against the agent's base
;;   M-x agent-bridge-visit            visit a changed file at its first change
;;   M-x agent-bridge-find-file        open a file of the workspace
;;   M-x agent-bridge-zip              write the workspace as a zip file
;;   M-x agent-bridge-submit-feedback  positive or negative, with a note
;;   M-x agent-bridge-stop             shutdown + exit the bridge
;;
;; All of them are on `agent-bridge-command-map'; bind it to a prefix:
;;
;;   (global-set-key (kbd "C-c b") 'agent-bridge-command-map)
;;
;; Commands never wait for the bridge: a request goes out, the command
;; returns, and its reply (or error, as a one-line message) arrives
;; later, so a stalled bridge cannot freeze Emacs.  From Lisp,
;; `agent-bridge-async-request' calls any method with callbacks, and
;; `agent-bridge-request' waits for the result (for scripts and tests):
;;
;;   (agent-bridge-request "listFiles" '(:path "src"))  => ("src/a.c" ...)
;;
;; Results are lists for JSON arrays and plists for objects; errors
;; are conditions `agent-bridge-error' with data (CODE MESSAGE DATA).

;;; Code:

(require 'cl-lib)
(require 'subr-x)
(require 'eieio)
(require 'jsonrpc)
(require 'diff-mode)

(defgroup agent-bridge nil
  "See an AI agent's changes through agent-bridge."
  :group 'tools
  :prefix "agent-bridge-")

(defcustom agent-bridge-command '("agent-bridge")
  "The agent-bridge program and its arguments, as a list.
For example (\"/opt/agent-bridge/bin/agent-bridge\" \"--log-level\" \"info\")."
  :type '(repeat string))

(defcustom agent-bridge-workspace nil
  "The agent's workspace directory.
nil means the current project's root, else `default-directory'."
  :type '(choice (const :tag "Current project or directory" nil) directory))

(defcustom agent-bridge-request-timeout 30
  "Seconds to wait for a reply before giving up on a request."
  :type 'number)

(defcustom agent-bridge-zip-timeout 3600
  "Seconds `agent-bridge-zip' waits for the archive to be written."
  :type 'number)

(defcustom agent-bridge-zip-directory nil
  "Where `agent-bridge-zip' offers to write the zip.
nil means ~/Downloads when it exists, else the home directory; a
directory inside the workspace is never offered (the zip would show
up as one of the agent's changes), its parent is instead."
  :type '(choice (const :tag "~/Downloads or ~" nil) directory))

(defcustom agent-bridge-diff-function 'diff-mode
  "How `agent-bridge-diff' shows a diff: a `diff-mode' buffer or `ediff'."
  :type '(choice (const :tag "Unified diff in diff-mode" diff-mode)
                 (const :tag "Ediff session" ediff)))

(defcustom agent-bridge-events-buffer-size 0
  "Characters of JSON-RPC traffic kept in the connection's events buffer.
0 keeps none: pretty-printing a 20,000-entry change list costs
seconds.  Set it (say to 2000000) to debug the protocol."
  :type 'integer)

(defvar agent-bridge-notification-functions nil
  "Abnormal hook run for each notification from the bridge.
Each function gets the method (a string) and its params (a plist).")

(define-error 'agent-bridge-error "agent-bridge request failed")

(defconst agent-bridge-error-connection-closed -32097
  "Code of the error for a request whose bridge exited.")

(defconst agent-bridge-error-timeout -32098
  "Code of the error for a request that timed out.")

(defconst agent-bridge-error-cancelled -32800
  "Code the bridge answers a cancelled request with.")

(defconst agent-bridge-error-method-not-found -32601
  "Code the bridge answers a method it does not serve with.")

(defun agent-bridge-error-code (err)
  "The JSON-RPC code of ERR, an `agent-bridge-error' condition."
  (nth 1 err))

(defun agent-bridge-error-message (err)
  "The message of ERR, an `agent-bridge-error' condition."
  (nth 2 err))

(defun agent-bridge-error-data (err)
  "The data of ERR, an `agent-bridge-error' condition (a plist or nil)."
  (nth 3 err))

(defun agent-bridge--show-error (err)
  "Tell the user about ERR in one line: its message, never its data.
Cancellations are the user's own doing and are not reported."
  (unless (eql (agent-bridge-error-code err) agent-bridge-error-cancelled)
    (message "agent-bridge: %s" (agent-bridge-error-message err))))

;;;; Connections

(defmacro agent-bridge--safely (&rest body)
  "Run BODY; show an error it signals as a message.
For code called from the process filter, where an error would
otherwise be reported as \"error in process filter\"."
  (declare (indent 0) (debug t))
  `(condition-case err
       (progn ,@body)
     (error (message "agent-bridge: %s" (error-message-string err)))))

(defclass agent-bridge-connection (jsonrpc-process-connection)
  ((workspace :initarg :workspace :reader agent-bridge--connection-workspace)
   (process :initform nil :accessor agent-bridge--connection-process
            :documentation "The bridge's process, kept here so as not to
depend on jsonrpc.el's private slots.")
   (last-id :initform nil :accessor agent-bridge--connection-last-id
            :documentation "The id of the request sent last, to cancel it by.")
   (stopping :initform nil :accessor agent-bridge--connection-stopping)
   (views :initform nil :accessor agent-bridge--connection-views
          :documentation "Alist (SUBSCRIPTION-ID . BUFFER) of live change views.")
   (changes :initform nil :accessor agent-bridge--connection-changes
            :documentation "The last change list seen (a vector), for completion."))
  :documentation "A connection to one agent-bridge process, for one workspace.")

(cl-defmethod jsonrpc-connection-send :before
  ((conn agent-bridge-connection) &key id method (result nil result-p) ((:error err) nil error-p)
   &allow-other-keys)
  "Remember the id of each request CONN sends.
A request has an ID and a METHOD; a reply has a RESULT or an ERR, and
newer jsonrpc.el versions give replies a method too."
  (ignore result err)
  (when (and id method (not result-p) (not error-p))
    (setf (agent-bridge--connection-last-id conn) id)))

(defvar agent-bridge--connections (make-hash-table :test #'equal)
  "Live connections, by workspace directory.")

(defvar agent-bridge--token-counter 0)

(defvar agent-bridge--progress-handlers (make-hash-table :test #'equal)
  "Functions taking a $/progress value, by token.")

(defvar-local agent-bridge--buffer-workspace nil
  "The workspace a buffer made by this package belongs to.")

(defun agent-bridge--workspace ()
  "The workspace directory to use, without a trailing slash."
  (directory-file-name
   (expand-file-name
    (or agent-bridge--buffer-workspace
        agent-bridge-workspace
        (let ((project (and (fboundp 'project-current) (project-current nil))))
          (and project (fboundp 'project-root) (project-root project)))
        default-directory))))

(defun agent-bridge--events-buffer-initargs ()
  "The initargs sizing the events buffer, in this jsonrpc.el's terms.
jsonrpc.el 1.0.20 and later take a plist, and warn about the older
initarg."
  (if (slot-exists-p 'jsonrpc-connection '-events-buffer-config)
      (list :events-buffer-config (list :size agent-bridge-events-buffer-size))
    (list :events-buffer-scrollback-size agent-bridge-events-buffer-size)))

(defun agent-bridge--start (workspace)
  "Start agent-bridge on WORKSPACE and return the connection."
  (let* ((program (car agent-bridge-command))
         (name (format "agent-bridge %s" workspace))
         (default-directory (file-name-as-directory workspace))
         (proc nil))
    (unless (and program (executable-find program))
      (user-error "agent-bridge: cannot find %S; set `agent-bridge-command' to the program"
                  program))
    (let ((conn
           (apply
            #'make-instance
            'agent-bridge-connection
            :name name
            :workspace workspace
            :process (lambda ()
                       (setq proc
                             (make-process
                              :name name
                              :command agent-bridge-command
                              :connection-type 'pipe
                              :coding 'utf-8-emacs-unix
                              :noquery t
                              ;; jsonrpc.el expects exactly this stderr buffer name.
                              :stderr (get-buffer-create (format "*%s stderr*" name)))))
            :request-dispatcher #'agent-bridge--handle-request
            :notification-dispatcher #'agent-bridge--handle-notification
            :on-shutdown #'agent-bridge--on-shutdown
            (agent-bridge--events-buffer-initargs))))
      (setf (agent-bridge--connection-process conn) proc)
      (puthash workspace conn agent-bridge--connections)
      ;; Requests are answered in arrival order around initialize, so
      ;; nothing waits for its reply; a failure is shown.
      (condition-case err
          (jsonrpc-async-request
           conn :initialize
           (list :processId (emacs-pid)
                 :clientInfo (list :name "emacs" :version emacs-version)
                 :rootPath workspace
                 :capabilities (make-hash-table))
           :success-fn (lambda (_) (ignore-errors (jsonrpc-notify conn :initialized (make-hash-table))))
           :error-fn (lambda (err) (message "agent-bridge: initialize failed: %s"
                                            (plist-get err :message))))
        (error (agent-bridge--send-failed conn err)))
      conn)))

(defun agent-bridge--connection (&optional workspace)
  "The live connection for WORKSPACE (default: the current one), started if needed."
  (let* ((workspace (or workspace (agent-bridge--workspace)))
         (conn (gethash workspace agent-bridge--connections)))
    (if (and conn (jsonrpc-running-p conn))
        conn
      (agent-bridge--start workspace))))

(defun agent-bridge--handle-request (_conn method _params)
  "The bridge sends no requests today; refuse METHOD so it never waits."
  (signal 'jsonrpc-error
          `("Unhandled method"
            (jsonrpc-error-code . -32601)
            (jsonrpc-error-message . ,(format "Unhandled method %s" method)))))

(defun agent-bridge--handle-notification (conn method params)
  "Route the notification METHOD with PARAMS from CONN, then run the hook."
  (let ((name (if (symbolp method) (symbol-name method) method)))
    (agent-bridge--safely
      (pcase name
        ("workspace/gitChanged" (agent-bridge--git-changed conn params))
        ("$/progress"
         (let ((handler (gethash (plist-get params :token) agent-bridge--progress-handlers)))
           (when handler (funcall handler (plist-get params :value)))))))
    (when agent-bridge-notification-functions
      (run-hook-with-args 'agent-bridge-notification-functions
                          name (agent-bridge--listify params)))))

(defun agent-bridge--on-shutdown (conn)
  "Forget CONN once its process is gone; say so unless it was asked to stop."
  (let ((proc (agent-bridge--connection-process conn))
        (workspace (agent-bridge--connection-workspace conn)))
    (when (eq (gethash workspace agent-bridge--connections) conn)
      (remhash workspace agent-bridge--connections))
    (dolist (view (agent-bridge--connection-views conn))
      (when (buffer-live-p (cdr view))
        (with-current-buffer (cdr view)
          (agent-bridge--changes-set-state 'exited))))
    (setf (agent-bridge--connection-views conn) nil)
    (unless (agent-bridge--connection-stopping conn)
      (message "agent-bridge for %s exited unexpectedly (status %s); see %s"
               workspace (process-exit-status proc)
               (buffer-name (jsonrpc-stderr-buffer conn))))))

(defun agent-bridge--listify (value)
  "VALUE as parsed by jsonrpc.el, with arrays turned into lists."
  (cond ((vectorp value) (mapcar #'agent-bridge--listify value))
        ((and (consp value) (keywordp (car value)))
         (cl-loop for (key val) on value by #'cddr
                  append (list key (agent-bridge--listify val))))
        (t value)))

(defun agent-bridge--params (params)
  "PARAMS, a plist, ready to send: nil values dropped, {} when empty."
  (let ((kept (cl-loop for (key val) on params by #'cddr
                       when val append (list key val))))
    (or kept (make-hash-table))))

;;;; Requests

(defun agent-bridge--method (method)
  "METHOD, a string or symbol, as the symbol jsonrpc.el sends."
  (if (stringp method) (intern method) method))

(defun agent-bridge--condition (err)
  "The `agent-bridge-error' condition for ERR, a JSON-RPC error plist."
  (let ((code (plist-get err :code)))
    (list 'agent-bridge-error
          (if (eql code -1) agent-bridge-error-connection-closed code)
          (if (eql code -1) "the bridge exited" (or (plist-get err :message) "request failed"))
          (agent-bridge--listify (plist-get err :data)))))

(defun agent-bridge--send-failed (conn err)
  "Turn ERR, raised sending to CONN, into a `user-error' saying why."
  (let ((proc (agent-bridge--connection-process conn)))
    (if (eq (process-status proc) 'stop)
        (user-error "agent-bridge: the bridge of %s is stopped and reads nothing; \
M-x agent-bridge-stop ends it" (agent-bridge--connection-workspace conn))
      (user-error "agent-bridge: cannot reach the bridge of %s: %s"
                  (agent-bridge--connection-workspace conn) (error-message-string err)))))

(defun agent-bridge--cancel (conn id)
  "Ask CONN's bridge to stop working on request ID, if it still runs."
  (when (and id (eq (process-status (agent-bridge--connection-process conn)) 'run))
    (ignore-errors (jsonrpc-notify conn :$/cancelRequest (list :id id)))))

(cl-defun agent-bridge-async-request (method &optional params
                                             &key on-result on-error timeout workspace)
  "Send METHOD with PARAMS (a plist) and return at once.
ON-RESULT is called with the result (arrays as lists, objects as
plists); ON-ERROR with an `agent-bridge-error' condition (ERROR-SYMBOL
CODE MESSAGE DATA), by default `agent-bridge--show-error', which shows
the message.  After TIMEOUT seconds (default
`agent-bridge-request-timeout') the request is cancelled on the bridge
and ON-ERROR gets code `agent-bridge-error-timeout'.  WORKSPACE
defaults to the current one.  Return a handle for
`agent-bridge-cancel-request'.

A bridge that cannot be written to (stopped, exited) is a `user-error'
at once."
  (let* ((conn (agent-bridge--connection workspace))
         (timeout (or timeout agent-bridge-request-timeout))
         (on-error (or on-error #'agent-bridge--show-error))
         (id nil))
    (condition-case err
        (jsonrpc-async-request
         conn (agent-bridge--method method) (agent-bridge--params params)
         :success-fn (lambda (result)
                       (when on-result
                         (agent-bridge--safely (funcall on-result (agent-bridge--listify result)))))
         :error-fn (lambda (err)
                     ;; Requests cut short by `agent-bridge-stop' are no news.
                     (unless (and (eql (plist-get err :code) -1)
                                  (agent-bridge--connection-stopping conn)
                                  (eq on-error #'agent-bridge--show-error))
                       (agent-bridge--safely (funcall on-error (agent-bridge--condition err)))))
         :timeout-fn (lambda ()
                       (agent-bridge--cancel conn id)
                       (agent-bridge--safely
                         (funcall on-error
                                  (list 'agent-bridge-error agent-bridge-error-timeout
                                        (format "no answer to %s after %s seconds; \
the bridge may be stalled" method timeout)
                                        nil))))
         :timeout timeout)
      (error (agent-bridge--send-failed conn err)))
    (setq id (agent-bridge--connection-last-id conn))
    (cons conn id)))

(defun agent-bridge-cancel-request (handle)
  "Cancel the request HANDLE (from `agent-bridge-async-request') on the bridge.
Its ON-ERROR then gets code `agent-bridge-error-cancelled'."
  (agent-bridge--cancel (car handle) (cdr handle)))

(cl-defun agent-bridge-request (method &optional params &key timeout workspace)
  "Call METHOD with PARAMS (a plist), wait for the reply and return the result.
For Lisp programs and tests; commands use `agent-bridge-async-request'.
JSON arrays come back as lists and objects as plists.  On failure,
signal `agent-bridge-error' with data (CODE MESSAGE DATA), where
CODE is the JSON-RPC error code.  TIMEOUT defaults to
`agent-bridge-request-timeout'; WORKSPACE to the current one.

A request that times out, or that \\[keyboard-quit] interrupts, is
cancelled on the bridge with $/cancelRequest, so a long zip stops."
  (let* ((outcome nil)
         (handle (agent-bridge-async-request
                  method params
                  :on-result (lambda (result) (setq outcome (list :result result)))
                  :on-error (lambda (err) (setq outcome (list :error err)))
                  :timeout timeout :workspace workspace)))
    (unwind-protect
        (while (not outcome)
          (accept-process-output nil 0.05))
      (unless outcome
        (agent-bridge-cancel-request handle)))
    (pcase outcome
      (`(:result ,result) result)
      (`(:error ,err) (signal (car err) (cdr err))))))

(cl-defun agent-bridge--await (method params what &key timeout progress)
  "Ask METHOD with PARAMS and wait for the result while no key is pressed.
WHAT says what is awaited, for the echo area, with the bridge's
$/progress counts when PROGRESS is non-nil.  Return the result, or
nil when a key was pressed or TIMEOUT passed (the request is then
cancelled).  A failure is a `user-error' with its message.
Interactive forms use this to offer completion candidates."
  (let* ((outcome nil)
         (token (and progress (agent-bridge--progress-token)))
         (counts nil)
         (start (float-time))
         (shown nil)
         (show (lambda ()
                 (let ((message-log-max nil))
                   (message "agent-bridge: asking for %s...%s (type to go on without)"
                            what (if counts (concat " " counts) ""))))))
    (when token
      (puthash token (lambda (value)
                       (let ((text (agent-bridge--progress-text value)))
                         (unless (string-empty-p text)
                           (setq counts text)
                           (when shown (funcall show)))))
               agent-bridge--progress-handlers))
    (unwind-protect
        (let ((handle (agent-bridge-async-request
                       method (if token (append params (list :workDoneToken token)) params)
                       :on-result (lambda (result) (setq outcome (list :result result)))
                       :on-error (lambda (err) (setq outcome (list :error err)))
                       :timeout timeout)))
          (unwind-protect
              (while (not (or outcome (input-pending-p)))
                (accept-process-output nil 0.05)
                (when (and (not shown) (not outcome) (> (- (float-time) start) 0.3))
                  (setq shown t)
                  (funcall show)))
            (unless outcome
              (agent-bridge-cancel-request handle))))
      (when token (agent-bridge--progress-end token)))
    (when shown (message nil))
    (pcase outcome
      (`(:result ,result) result)
      (`(:error ,err)
       (if (eql (agent-bridge-error-code err) agent-bridge-error-timeout)
           nil
         (user-error "agent-bridge: %s" (agent-bridge-error-message err)))))))

(defun agent-bridge-notify (method &optional params)
  "Send the notification METHOD with PARAMS (a plist)."
  (let ((conn (agent-bridge--connection)))
    (condition-case err
        (jsonrpc-notify conn (agent-bridge--method method) (agent-bridge--params params))
      (error (agent-bridge--send-failed conn err)))))

(defun agent-bridge-stop (&optional workspace timeout)
  "Stop the bridge of WORKSPACE: shutdown, exit, and a kill after TIMEOUT seconds.
Waits at most TIMEOUT (default 2) seconds, then kills it.  Return the
process's exit status, or nil when none was running."
  (interactive)
  (let* ((workspace (or workspace (agent-bridge--workspace)))
         (conn (gethash workspace agent-bridge--connections))
         (timeout (or timeout 2)))
    (when conn
      (remhash workspace agent-bridge--connections)
      (let ((proc (agent-bridge--connection-process conn)))
        (setf (agent-bridge--connection-stopping conn) t)
        (when (eq (process-status proc) 'run)
          (ignore-errors
            (jsonrpc-async-request
             conn :shutdown (make-hash-table)
             :success-fn (lambda (_) (ignore-errors (jsonrpc-notify conn :exit (make-hash-table))))
             :error-fn #'ignore :timeout-fn #'ignore :timeout timeout)))
        (with-timeout (timeout nil)
          (while (process-live-p proc)
            (accept-process-output proc 0.05)))
        (when (process-live-p proc)
          (kill-process proc))
        (jsonrpc-shutdown conn t)
        (process-exit-status proc)))))

(defun agent-bridge-stop-all ()
  "Stop every running bridge."
  (interactive)
  (dolist (workspace (hash-table-keys agent-bridge--connections))
    (agent-bridge-stop workspace)))

(add-hook 'kill-emacs-hook #'agent-bridge-stop-all)

;;;; Progress

(defun agent-bridge--progress-token ()
  "A fresh workDoneToken."
  (format "emacs-%d-%d" (emacs-pid) (cl-incf agent-bridge--token-counter)))

(defun agent-bridge--human-bytes (bytes)
  "BYTES as a short human-readable size."
  (if (< bytes 1024)
      (format "%d B" bytes)
    (file-size-human-readable bytes 'iec " ")))

(defun agent-bridge--progress-text (value)
  "The suffix shown for the $/progress VALUE: percentage and message.
The bridge counts bytes in its messages; they are shown human-sized."
  (let ((percentage (plist-get value :percentage))
        (text (plist-get value :message)))
    (when text
      (setq text (replace-regexp-in-string
                  "\\([0-9]+\\) bytes"
                  (lambda (match)
                    (agent-bridge--human-bytes (string-to-number (match-string 1 match))))
                  text t t)))
    (string-join (delq nil (list (and (numberp percentage) (> percentage 0)
                                      (format "%d%%" percentage))
                                 text))
                 ", ")))

(defun agent-bridge--progress-begin (title)
  "A workDoneToken whose $/progress notifications show as TITLE in the echo area.
Call `agent-bridge--progress-end' with it when the request is done."
  (let ((token (agent-bridge--progress-token))
        (reporter (make-progress-reporter (format "agent-bridge: %s..." title))))
    (puthash token
             (lambda (value)
               (when (member (plist-get value :kind) '("begin" "report"))
                 (progress-reporter-update reporter nil
                                           (agent-bridge--progress-text value))))
             agent-bridge--progress-handlers)
    token))

(defun agent-bridge--progress-end (token)
  "Stop showing the progress of TOKEN."
  (remhash token agent-bridge--progress-handlers))

;;;; Workspace

(defun agent-bridge--relative (file)
  "FILE relative to the workspace, or nil when outside it."
  (when file
    (let ((root (file-name-as-directory (agent-bridge--workspace)))
          (full (expand-file-name file)))
      (when (string-prefix-p root full)
        (substring full (length root))))))

(defun agent-bridge--inside-p (file directory)
  "Non-nil when FILE is DIRECTORY or below it (symlinks resolved)."
  (string-prefix-p (file-name-as-directory (file-truename directory))
                   (file-name-as-directory (file-truename file))))

(defun agent-bridge--file (path root)
  "PATH (a name the bridge gave) as an absolute file name in ROOT, or nil.
The agent wrote the names and the links: PATH is joined to ROOT as
text, since `expand-file-name' would read a leading `~' as a home
directory, and nil is returned when the result, its links followed
(a dangling one too), leaves ROOT."
  (let ((file (expand-file-name (concat (file-name-as-directory root) path))))
    (and (agent-bridge--inside-p file root) file)))

(defun agent-bridge--show-outside (path)
  "Show PATH, which leads out of the workspace, as the bridge reads it.
Neither the file it leads to is read nor a save written through it: a
read-only buffer gets gitDiff's working-tree text, or says why not.
Return that buffer, shown in the selected window."
  (let ((buffer (agent-bridge--text-buffer
                 (format "*agent-bridge outside: %s*" path)
                 (format "%s leads out of the workspace: asking the bridge for its text...\n" path)
                 nil)))
    (message "agent-bridge: %s leads out of the workspace; not visited" path)
    (agent-bridge-async-request
     "gitDiff" (list :path path)
     :on-result (lambda (diff)
                  (when (buffer-live-p buffer)
                    (with-current-buffer buffer
                      (let ((inhibit-read-only t))
                        (erase-buffer)
                        (insert (or (plist-get diff :modified) ""))
                        (set-buffer-modified-p nil)
                        (goto-char (point-min))))))
     :on-error (lambda (err)
                 (when (buffer-live-p buffer)
                   (with-current-buffer buffer
                     (let ((inhibit-read-only t))
                       (erase-buffer)
                       (insert (format "%s leads out of the workspace: not visited (%s)\n"
                                       path (agent-bridge-error-message err)))
                       (set-buffer-modified-p nil))))))
    (switch-to-buffer buffer)))

;;;; Changes

(defconst agent-bridge--status-names
  '(("A" . "added") ("M" . "modified") ("D" . "deleted") ("U" . "conflict"))
  "gitChanges' status letters, as shown.  Untracked files are added.")

(defface agent-bridge-added '((t :inherit diff-indicator-added))
  "Status word of an added or untracked file.")
(defface agent-bridge-modified '((t :inherit diff-indicator-changed))
  "Status word of a modified file.")
(defface agent-bridge-deleted '((t :inherit diff-indicator-removed))
  "Status word of a deleted file.")
(defface agent-bridge-conflict '((t :inherit error))
  "Status word of a file in conflict.")

(defvar agent-bridge-changes-mode-map
  (let ((map (make-sparse-keymap)))
    (set-keymap-parent map special-mode-map)
    (define-key map (kbd "RET") #'agent-bridge-changes-diff)
    (define-key map (kbd "d") #'agent-bridge-changes-diff)
    (define-key map (kbd "o") #'agent-bridge-changes-visit)
    (define-key map (kbd "f") #'agent-bridge-changes-visit)
    (define-key map (kbd "n") #'next-line)
    (define-key map (kbd "p") #'previous-line)
    (define-key map (kbd "z") #'agent-bridge-zip)
    map)
  "Keys of `agent-bridge-changes-mode'.")

(defvar-local agent-bridge--changes nil
  "The changes shown, a vector of plists (:status :path), one per line.")

(defvar-local agent-bridge--changes-index nil
  "Hash table from a shown path to its line number.")

(defvar-local agent-bridge--changes-state 'loading
  "What the view knows: loading, live, polling, exited or error.")

(defvar-local agent-bridge--changes-info nil
  "The workspaceInfo result, or `unknown' when the bridge lacks it.")

(defvar-local agent-bridge--changes-subscription nil
  "(CONNECTION . SUBSCRIPTION-ID) while the view is subscribed.")

(defvar-local agent-bridge--changes-error nil
  "The message of the last error, shown in the buffer.")

(defconst agent-bridge--changes-font-lock
  '(("^ \\(added\\) " 1 'agent-bridge-added)
    ("^ \\(modified\\) " 1 'agent-bridge-modified)
    ("^ \\(deleted\\) " 1 'agent-bridge-deleted)
    ("^ \\(conflict\\) " 1 'agent-bridge-conflict))
  "Faces of the status words; font-lock only colours what is on screen.")

(define-derived-mode agent-bridge-changes-mode special-mode "Agent-Changes"
  "The agent's changes, one line per file, kept up to date as it works.
\\<agent-bridge-changes-mode-map>\\[agent-bridge-changes-diff] shows the diff, \
\\[agent-bridge-changes-visit] visits the file at its first change, \
\\[revert-buffer] asks again.

\\{agent-bridge-changes-mode-map}"
  (setq truncate-lines t)
  (setq buffer-undo-list t)
  (setq-local font-lock-defaults '(agent-bridge--changes-font-lock t))
  (setq-local revert-buffer-function #'agent-bridge--changes-revert)
  (setq header-line-format '(:eval (agent-bridge--changes-header)))
  (add-hook 'kill-buffer-hook #'agent-bridge--changes-unsubscribe nil t))

(defun agent-bridge--changes-header ()
  "The header line: the columns, then what the view shows and how fresh it is."
  (let* ((count (length agent-bridge--changes))
         (info agent-bridge--changes-info)
         (root (or (and (consp info) (plist-get info :workspace)) agent-bridge--buffer-workspace)))
    (concat " Status   Path"
            (propertize
             (format "    %s%s · %s"
                     (cond ((and (zerop count) (consp info)
                                 (eq (plist-get info :gitRepository) :json-false))
                            "not a git repository")
                           ((eq agent-bridge--changes-state 'loading) "")
                           (t (format "%d change%s" count (if (= count 1) "" "s"))))
                     (pcase agent-bridge--changes-state
                       ('loading "asking the bridge")
                       ('live ", live")
                       ('polling ", refreshed on focus")
                       ('exited ", bridge exited (g restarts)")
                       ('error ", error (g retries)")
                       (_ ""))
                     (abbreviate-file-name root))
             'face 'shadow))))

(defconst agent-bridge--status-columns
  (mapcar (lambda (name) (cons (car name) (concat " " (string-pad (cdr name) 9))))
          agent-bridge--status-names)
  "Each status letter's column text, made once: lines are made by the 20,000.")

(defun agent-bridge--changes-line (change)
  "The text of CHANGE's line, without the newline."
  (let ((status (plist-get change :status))
        (path (plist-get change :path)))
    (concat (or (cdr (assoc status agent-bridge--status-columns))
                (concat " " (string-pad status 9)))
            ;; One line per change, whatever the name holds.
            (if (string-search "\n" path) (string-replace "\n" "\\n" path) path))))

(defun agent-bridge--changes-empty-text ()
  "What the buffer says when there is no change to list."
  (let ((info agent-bridge--changes-info))
    (cond (agent-bridge--changes-error
           (format " %s\n" agent-bridge--changes-error))
          ((eq agent-bridge--changes-state 'loading) " Asking the bridge...\n")
          ((and (consp info) (eq (plist-get info :gitRepository) :json-false))
           (format " Not a git repository: %s\n" (plist-get info :workspace)))
          (t " No changes.\n"))))

(defun agent-bridge--changes-path-at (&optional pos)
  "The path of the change on the line at POS (default point), or nil."
  (let ((line (line-number-at-pos pos)))
    (when (<= line (length agent-bridge--changes))
      (plist-get (aref agent-bridge--changes (1- line)) :path))))

(defun agent-bridge--changes-spot (pos)
  "Where POS is: (PATH LINE COLUMN)."
  (save-excursion
    (goto-char pos)
    (list (agent-bridge--changes-path-at) (line-number-at-pos) (current-column))))

(defun agent-bridge--changes-goto (spot)
  "Move to SPOT, from `agent-bridge--changes-spot': the same path if still listed,
else the same line; the same column.  Return point."
  (pcase-let ((`(,path ,line ,column) spot))
    (goto-char (point-min))
    (forward-line (1- (or (and path (gethash path agent-bridge--changes-index)) line)))
    (move-to-column column)
    (point)))

(defun agent-bridge--changes-render (changes)
  "Show CHANGES (a vector of plists) in place of the current ones.
Point, and each window's point and scroll, stay on the same change."
  (let* ((inhibit-read-only t)
         (here (agent-bridge--changes-spot (point)))
         (windows (mapcar (lambda (window)
                            (list window
                                  (agent-bridge--changes-spot (window-point window))
                                  (line-number-at-pos (window-start window))))
                          (get-buffer-window-list nil nil t)))
         (index (make-hash-table :test #'equal :size (max 16 (length changes))))
         (line 0))
    (setq agent-bridge--changes changes)
    (erase-buffer)
    (if (zerop (length changes))
        (insert (agent-bridge--changes-empty-text))
      (insert (mapconcat (lambda (change)
                           (puthash (plist-get change :path) (cl-incf line) index)
                           (agent-bridge--changes-line change))
                         changes "\n")
              "\n"))
    (setq agent-bridge--changes-index index)
    (agent-bridge--changes-goto here)
    ;; Each window keeps its first line (redisplay scrolls if point
    ;; left it) and its point on the same change.
    (pcase-dolist (`(,window ,spot ,start) windows)
      (set-window-start window (save-excursion (goto-char (point-min))
                                               (forward-line (1- start))
                                               (point))
                        t)
      (set-window-point window (save-excursion (agent-bridge--changes-goto spot))))
    (set-buffer-modified-p nil)
    (force-mode-line-update)))

(defun agent-bridge--changes-set-state (state &optional error-message)
  "Set the view's STATE (and ERROR-MESSAGE), and show it."
  (setq agent-bridge--changes-state state)
  (setq agent-bridge--changes-error error-message)
  (when (eq state 'exited)
    (setq agent-bridge--changes-subscription nil))
  (when (or error-message (zerop (length agent-bridge--changes)))
    (agent-bridge--changes-render agent-bridge--changes))
  (force-mode-line-update))

(defun agent-bridge--git-changed (conn params)
  "Show the changes of a workspace/gitChanged notification (PARAMS) from CONN."
  (let* ((view (assoc (plist-get params :subscriptionId) (agent-bridge--connection-views conn)))
         (changes (plist-get params :changes)))
    (setf (agent-bridge--connection-changes conn) changes)
    (when (and view (buffer-live-p (cdr view)))
      (with-current-buffer (cdr view)
        (setq agent-bridge--changes-state 'live
              agent-bridge--changes-error nil)
        (agent-bridge--changes-render changes)
        ;; A `git init' or a removed .git changes what an empty list means.
        (when (and (consp agent-bridge--changes-info)
                   (or (zerop (length changes))
                       (eq (plist-get agent-bridge--changes-info :gitRepository) :json-false)))
          (agent-bridge--changes-ask-info (current-buffer)))))))

(defun agent-bridge--changes-fetch (buffer)
  "Ask gitChanges once and show the answer in BUFFER."
  (with-current-buffer buffer
    (let ((conn (agent-bridge--connection)))
      (agent-bridge-async-request
       "gitChanges" nil
       :on-result (lambda (changes)
                    (let ((changes (vconcat changes)))
                      (setf (agent-bridge--connection-changes conn) changes)
                      (when (buffer-live-p buffer)
                        (with-current-buffer buffer
                          (unless (eq agent-bridge--changes-state 'live)
                            (setq agent-bridge--changes-state 'polling))
                          (setq agent-bridge--changes-error nil)
                          (agent-bridge--changes-render changes)))))
       :on-error (lambda (err)
                   (when (buffer-live-p buffer)
                     (with-current-buffer buffer
                       (agent-bridge--changes-set-state 'error (agent-bridge-error-message err))))
                   (agent-bridge--show-error err))))))

(defun agent-bridge--changes-focus (window)
  "Refresh the view shown in WINDOW when it gets selected (no subscription)."
  (let ((buffer (window-buffer window)))
    (when (and (eq window (selected-window))
               (not (eq (buffer-local-value 'agent-bridge--changes-state buffer) 'live)))
      (agent-bridge--changes-fetch buffer))))

(defun agent-bridge--changes-ask-info (buffer)
  "Ask workspaceInfo for BUFFER's view: the real workspace, and whether it is
under git (gitChanges' [] means no changes, or no repository)."
  (with-current-buffer buffer
    (agent-bridge-async-request
     "workspaceInfo" nil
     :on-result (lambda (info)
                  (when (buffer-live-p buffer)
                    (with-current-buffer buffer
                      (setq agent-bridge--changes-info info)
                      (setq default-directory (file-name-as-directory (plist-get info :workspace)))
                      (agent-bridge--changes-set-state agent-bridge--changes-state))))
     :on-error (lambda (err)
                 (when (buffer-live-p buffer)
                   (with-current-buffer buffer
                     (setq agent-bridge--changes-info 'unknown)))
                 (unless (eql (agent-bridge-error-code err) agent-bridge-error-method-not-found)
                   (agent-bridge--show-error err))))))

(defun agent-bridge--changes-start (buffer)
  "Ask the bridge about BUFFER's workspace and subscribe to its changes.
Without subscriptions (an older bridge), refresh whenever the view's
window is selected."
  (let ((conn (agent-bridge--connection)))
    (agent-bridge--changes-ask-info buffer)
    (agent-bridge-async-request
     "subscribe" '(:events ["git"])
     :on-result (lambda (result)
                  (let ((id (plist-get result :subscriptionId)))
                    (if (buffer-live-p buffer)
                        (with-current-buffer buffer
                          (setq agent-bridge--changes-subscription (cons conn id))
                          (push (cons id buffer) (agent-bridge--connection-views conn)))
                      (agent-bridge--unsubscribe conn id))))
     :on-error (lambda (err)
                 (let ((unsupported (memql (agent-bridge-error-code err)
                                           (list agent-bridge-error-method-not-found -32600))))
                   (when (buffer-live-p buffer)
                     (with-current-buffer buffer
                       (if (not unsupported)
                           (agent-bridge--changes-set-state 'error (agent-bridge-error-message err))
                         ;; A bridge without subscriptions: ask on focus.
                         (add-hook 'window-selection-change-functions
                                   #'agent-bridge--changes-focus nil t)
                         (agent-bridge--changes-fetch buffer))))
                   (unless unsupported
                     (agent-bridge--show-error err)))))))

(defun agent-bridge--unsubscribe (conn id)
  "End CONN's subscription ID, if the bridge still reads."
  (setf (agent-bridge--connection-views conn)
        (cl-remove id (agent-bridge--connection-views conn) :key #'car :test #'equal))
  (when (eq (process-status (agent-bridge--connection-process conn)) 'run)
    (ignore-errors
      (jsonrpc-async-request conn :unsubscribe (list :subscriptionId id)
                             :success-fn #'ignore :error-fn #'ignore :timeout-fn #'ignore))))

(defun agent-bridge--changes-unsubscribe ()
  "End the view's subscription (the buffer is being killed or restarted)."
  (when agent-bridge--changes-subscription
    (agent-bridge--unsubscribe (car agent-bridge--changes-subscription)
                               (cdr agent-bridge--changes-subscription))
    (setq agent-bridge--changes-subscription nil)))

(defun agent-bridge--changes-revert (&rest _)
  "Ask again: a live or polling view asks gitChanges, any other one starts over."
  (if (or (and agent-bridge--changes-subscription
               (jsonrpc-running-p (car agent-bridge--changes-subscription)))
          (and (eq agent-bridge--changes-state 'polling)
               (let ((conn (gethash (agent-bridge--workspace) agent-bridge--connections)))
                 (and conn (jsonrpc-running-p conn)))))
      (agent-bridge--changes-fetch (current-buffer))
    (agent-bridge--changes-unsubscribe)
    (remove-hook 'window-selection-change-functions #'agent-bridge--changes-focus t)
    (setq agent-bridge--changes-state 'loading
          agent-bridge--changes-error nil
          agent-bridge--changes-info nil)
    (agent-bridge--changes-render [])
    (agent-bridge--changes-start (current-buffer))))

;;;###autoload
(defun agent-bridge-changes ()
  "Show the agent's changes in a buffer that follows them as the agent works.
RET on a line opens its diff.  Return the buffer at once; the list
arrives when the bridge answers."
  (interactive)
  (let* ((workspace (agent-bridge--workspace))
         (buffer (get-buffer-create (format "*agent-bridge changes: %s*"
                                            (file-name-nondirectory workspace)))))
    (with-current-buffer buffer
      (unless (and (eq major-mode 'agent-bridge-changes-mode)
                   (equal agent-bridge--buffer-workspace workspace)
                   agent-bridge--changes-subscription
                   (jsonrpc-running-p (car agent-bridge--changes-subscription)))
        (agent-bridge-changes-mode)
        (setq agent-bridge--buffer-workspace workspace)
        (setq default-directory (file-name-as-directory workspace))
        (agent-bridge--changes-revert)))
    (pop-to-buffer buffer)
    buffer))

(defun agent-bridge--changes-path ()
  "The path of the change at point, or a `user-error'."
  (or (agent-bridge--changes-path-at) (user-error "No change on this line")))

(defun agent-bridge-changes-diff ()
  "Show the diff of the change at point."
  (interactive)
  (agent-bridge-diff (agent-bridge--changes-path)))

(defun agent-bridge-changes-visit ()
  "Visit the file of the change at point, at its first change."
  (interactive)
  (let* ((path (agent-bridge--changes-path))
         (change (aref agent-bridge--changes (1- (gethash path agent-bridge--changes-index)))))
    (if (equal (plist-get change :status) "D")
        (agent-bridge-diff path)
      (agent-bridge-visit path))))

;;;; Diff

(defun agent-bridge--root ()
  "The workspace's real path as the bridge says, else as configured."
  (let ((workspace (agent-bridge--workspace)))
    (or (cl-loop for buffer in (buffer-list)
                 for info = (buffer-local-value 'agent-bridge--changes-info buffer)
                 when (and (consp info)
                           (equal (buffer-local-value 'agent-bridge--buffer-workspace buffer)
                                  workspace))
                 return (plist-get info :workspace))
        workspace)))

(defun agent-bridge--changed-paths ()
  "The changed paths, for completion: those last seen, else asked for."
  (let* ((conn (agent-bridge--connection))
         (changes (or (agent-bridge--connection-changes conn)
                      (agent-bridge--await "gitChanges" nil "the changed files"))))
    (mapcar (lambda (c) (plist-get c :path)) changes)))

(defun agent-bridge--read-changed-path (prompt)
  "Read a workspace path with PROMPT, offering the changed files."
  (let ((default (agent-bridge--relative buffer-file-name))
        (paths (agent-bridge--changed-paths)))
    (completing-read (format-prompt prompt default) paths nil nil nil nil default)))

(defun agent-bridge--text-buffer (name text mode-file)
  "A read-only buffer NAME holding TEXT, in the major mode for MODE-FILE."
  (let ((buffer (get-buffer-create name)))
    (with-current-buffer buffer
      (let ((inhibit-read-only t))
        (erase-buffer)
        (insert text)
        (let ((buffer-file-name mode-file))
          (ignore-errors (set-auto-mode)))
        (setq buffer-read-only t)
        (set-buffer-modified-p nil)
        (goto-char (point-min))))
    buffer))

(defun agent-bridge--write-temp (text)
  "Write TEXT to a temporary file (UTF-8) and return its name."
  (let ((file (make-temp-file "agent-bridge-diff-"))
        (coding-system-for-write 'utf-8-unix))
    (with-temp-file file (insert text))
    file))

(defun agent-bridge--first-changed-line (original modified)
  "The line of MODIFIED where it first differs from ORIGINAL (1-based)."
  (let ((index (compare-strings original nil nil modified nil nil)))
    (if (eq index t)
        1
      (1+ (cl-count ?\n modified :end (min (1- (abs index)) (length modified)))))))

(defun agent-bridge--fill-diff (buffer path diff)
  "Fill BUFFER with the unified diff of PATH from DIFF (gitDiff's result).
Point goes to the first hunk."
  (let ((original (or (plist-get diff :original) ""))
        (modified (or (plist-get diff :modified) "")))
    (let ((old (agent-bridge--write-temp (concat original (if (string-empty-p original) "" "\n"))))
          (new (agent-bridge--write-temp (concat modified (if (string-empty-p modified) "" "\n")))))
      (unwind-protect
          (with-current-buffer buffer
            (let ((inhibit-read-only t)
                  (coding-system-for-read 'utf-8-unix))
              (erase-buffer)
              (let ((status (call-process "diff" nil t nil "-u"
                                          "--label" (concat "a/" path)
                                          "--label" (concat "b/" path)
                                          old new)))
                (when (eql status 0)
                  (insert (format "No differences in %s.\n" path)))
                (when (and (integerp status) (> status 1))
                  (error "agent-bridge: diff failed: %s" (buffer-string)))))
            (set-buffer-modified-p nil)
            (goto-char (point-min))
            (when (re-search-forward "^@@" nil t)
              (goto-char (match-beginning 0)))
            (dolist (window (get-buffer-window-list buffer nil t))
              (set-window-point window (point))))
        (delete-file old)
        (delete-file new)))))

(defun agent-bridge--ediff (path diff workspace)
  "Start an Ediff session on PATH's DIFF (gitDiff's result) in WORKSPACE."
  (let ((file (agent-bridge--file path workspace)))
    (ediff-buffers
     (agent-bridge--text-buffer (format "*agent-bridge original: %s*" path)
                                (or (plist-get diff :original) "") file)
     (cond ((null file)
            ;; A link out of the workspace: the bridge's text, not the file.
            (agent-bridge--text-buffer (format "*agent-bridge outside: %s*" path)
                                       (or (plist-get diff :modified) "") nil))
           ((file-exists-p file) (find-file-noselect file))
           (t (agent-bridge--text-buffer (format "*agent-bridge deleted: %s*" path) "" file))))))

;;;###autoload
(defun agent-bridge-diff (path)
  "Diff PATH (relative to the workspace) against the base the agent started from.
Shows a unified diff in `diff-mode', at its first hunk, or an Ediff
session, as `agent-bridge-diff-function' says.  Return the diff
buffer at once (diff-mode); it fills when the bridge answers."
  (interactive (list (agent-bridge--read-changed-path "Diff file")))
  (let* ((workspace (agent-bridge--root))
         (ediff (eq agent-bridge-diff-function 'ediff))
         (buffer (unless ediff (get-buffer-create (format "*agent-bridge diff: %s*" path)))))
    (when buffer
      (with-current-buffer buffer
        (let ((inhibit-read-only t))
          (erase-buffer)
          (insert (format "Asking the bridge for the diff of %s...\n" path)))
        (diff-mode)
        (setq agent-bridge--buffer-workspace (agent-bridge--workspace))
        (setq default-directory (file-name-as-directory workspace))
        (setq buffer-read-only t)
        (set-buffer-modified-p nil))
      (display-buffer buffer))
    (agent-bridge-async-request
     "gitDiff" (list :path path)
     :on-result (lambda (diff)
                  (cond (ediff (run-at-time 0 nil #'agent-bridge--ediff path diff workspace))
                        ((buffer-live-p buffer) (agent-bridge--fill-diff buffer path diff))))
     :on-error (lambda (err)
                 (when (buffer-live-p buffer)
                   (with-current-buffer buffer
                     (let ((inhibit-read-only t))
                       (erase-buffer)
                       (insert (format "No diff of %s: %s\n" path (agent-bridge-error-message err))))))
                 (agent-bridge--show-error err)))
    buffer))

;;;###autoload
(defun agent-bridge-visit (path)
  "Visit PATH of the workspace and move to its first change when the bridge says.
Return the file's buffer."
  (interactive (list (agent-bridge--read-changed-path "Visit changed file")))
  (let* ((file (agent-bridge--file path (agent-bridge--root)))
         (buffer (if file (find-file file) (agent-bridge--show-outside path)))
         (start (with-current-buffer buffer (point))))
    (when file
      (agent-bridge-async-request
       "gitDiff" (list :path path)
       :on-result (lambda (diff)
                    (when (buffer-live-p buffer)
                      (with-current-buffer buffer
                        ;; Only when the user has not moved meanwhile.
                        (when (= (point) start)
                          (goto-char (point-min))
                          (forward-line (1- (agent-bridge--first-changed-line
                                             (or (plist-get diff :original) "")
                                             (or (plist-get diff :modified) ""))))
                          (dolist (window (get-buffer-window-list buffer nil t))
                            (set-window-point window (point)))))))
       :on-error #'ignore))
    buffer))

;;;; Files, zip, feedback

;;;###autoload
(defun agent-bridge-find-file (path)
  "Visit PATH, read with completion over every file of the workspace."
  (interactive
   (list (completing-read "Agent workspace file: "
                          (agent-bridge--await "listFiles" '(:recursive t) "the workspace's files"
                                               :progress t)
                          nil nil)))
  (let ((file (agent-bridge--file path (agent-bridge--root))))
    (if file (find-file file) (agent-bridge--show-outside path))))

(defun agent-bridge--zip-directory (workspace)
  "The directory `agent-bridge-zip' offers for WORKSPACE's zip, never inside it."
  (let ((dir (expand-file-name (or agent-bridge-zip-directory
                                   (if (file-directory-p "~/Downloads") "~/Downloads" "~")))))
    (file-name-as-directory
     (if (agent-bridge--inside-p dir workspace)
         (file-name-directory (directory-file-name (expand-file-name workspace)))
       dir))))

(defun agent-bridge--read-zip-destination ()
  "Read where to write the zip.
A place inside the workspace, or an existing file, needs confirming."
  (let* ((workspace (agent-bridge--workspace))
         (dir (agent-bridge--zip-directory workspace))
         (name (concat (file-name-nondirectory workspace) ".zip"))
         (file (expand-file-name
                (read-file-name "Write the workspace zip to: " dir (expand-file-name name dir)
                                nil name))))
    (when (and (agent-bridge--inside-p (file-name-directory file) workspace)
               (not (yes-or-no-p (format "%s is inside the workspace, where it shows up as \
an agent change; write it there anyway? " (abbreviate-file-name file)))))
      (user-error "Not written"))
    (when (and (file-exists-p file)
               (not (yes-or-no-p (format "%s exists; replace it? " file))))
      (user-error "Not replaced"))
    file))

;;;###autoload
(defun agent-bridge-zip (destination &optional on-done)
  "Write the whole workspace as a zip file to DESTINATION, showing progress.
Return at once; when the zip is written, say so and call ON-DONE with
the result plist (:path :bytes :entries :skipped :sha256)."
  (interactive (list (agent-bridge--read-zip-destination)))
  (let* ((target (expand-file-name destination))
         (token (agent-bridge--progress-begin "zipping the workspace")))
    (condition-case err
        (agent-bridge-async-request
         "zipDirectory" (list :destination target :workDoneToken token)
         :timeout agent-bridge-zip-timeout
         :on-result (lambda (result)
                      (agent-bridge--progress-end token)
                      (message "agent-bridge: wrote %d files (%s%s) to %s"
                               (plist-get result :entries)
                               (agent-bridge--human-bytes (plist-get result :bytes))
                               (let ((skipped (or (plist-get result :skipped) 0)))
                                 (if (> skipped 0) (format ", %d skipped" skipped) ""))
                               (plist-get result :path))
                      (when on-done (funcall on-done result)))
         :on-error (lambda (err)
                     (agent-bridge--progress-end token)
                     (agent-bridge--show-error err)))
      (error (agent-bridge--progress-end token)
             (signal (car err) (cdr err))))))

;;;###autoload
(defun agent-bridge-submit-feedback (polarity &optional feedback email on-done)
  "Send feedback on the agent: POLARITY is \"positive\" or \"negative\".
FEEDBACK is an optional note, EMAIL an optional address.  Return at
once; ON-DONE gets the bridge's result plist."
  (interactive
   (list (completing-read "How did the agent's work go? " '("positive" "negative") nil t)
         (read-string "Feedback (optional): ")))
  (unless (member polarity '("positive" "negative"))
    (user-error "Feedback is positive or negative, not %S" polarity))
  (agent-bridge-async-request
   "submitFeedback"
   (list :polarity polarity
         :permissions "private"
         :feedback (and feedback (not (string-empty-p feedback)) feedback)
         :email (and email (not (string-empty-p email)) email))
   :on-result (lambda (result)
                (let ((id (plist-get (plist-get result :body) :feedback_id)))
                  (message "agent-bridge: feedback submitted%s.  Thank you."
                           (if id (format " (id %s)" id) "")))
                (when on-done (funcall on-done result)))))

;;;; Keys

(defvar agent-bridge-command-map
  (let ((map (make-sparse-keymap)))
    (define-key map "c" #'agent-bridge-changes)
    (define-key map "d" #'agent-bridge-diff)
    (define-key map "v" #'agent-bridge-visit)
    (define-key map "f" #'agent-bridge-find-file)
    (define-key map "z" #'agent-bridge-zip)
    (define-key map "F" #'agent-bridge-submit-feedback)
    (define-key map "q" #'agent-bridge-stop)
    map)
  "The package's commands, for a prefix key of your choice:
  (global-set-key (kbd \"C-c b\") \\='agent-bridge-command-map)")
(defalias 'agent-bridge-command-map agent-bridge-command-map)

(provide 'agent-bridge)

;;; agent-bridge.el ends here
