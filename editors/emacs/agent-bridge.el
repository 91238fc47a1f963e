;;; agent-bridge.el --- See an AI agent's changes through agent-bridge  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "28.1") (jsonrpc "1.0.14"))
;; Keywords: tools, vc
;; URL: https://github.com/agentbridge/agent-bridge

;;; Commentary:

;; agent-bridge serves an AI agent's workspace (the OpenHands workspace
;; API) as JSON-RPC 2.0 over stdio.  This package spawns it with the
;; built-in jsonrpc.el (Content-Length framing) and lets a person see
;; the agent's changes, open their diffs, find a file, download the
;; workspace as a zip and send feedback:
;;
;;   M-x agent-bridge-changes          a buffer of changes; RET opens a diff
;;   M-x agent-bridge-diff             diff one file against the agent's base
;;   M-x agent-bridge-find-file        open a file of the workspace
;;   M-x agent-bridge-zip              write the workspace as a zip file
;;   M-x agent-bridge-submit-feedback  positive or negative, with a note
;;   M-x agent-bridge-stop             shutdown + exit the bridge
;;
;; From Lisp, `agent-bridge-request' calls any method synchronously:
;;
;;   (agent-bridge-request "listFiles" '(:path "src"))  => ("src/a.c" ...)
;;
;; Results are lists for JSON arrays and plists for objects; errors
;; signal `agent-bridge-error' with data (CODE MESSAGE DATA).

;;; Code:

(require 'cl-lib)
(require 'subr-x)
(require 'jsonrpc)
(require 'tabulated-list)
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
  "Seconds `agent-bridge-request' waits for a reply."
  :type 'number)

(defcustom agent-bridge-zip-timeout 3600
  "Seconds `agent-bridge-zip' waits for the archive to be written."
  :type 'number)

(defcustom agent-bridge-diff-function 'diff-mode
  "How `agent-bridge-diff' shows a diff: a `diff-mode' buffer or `ediff'."
  :type '(choice (const :tag "Unified diff in diff-mode" diff-mode)
                 (const :tag "Ediff session" ediff)))

(defvar agent-bridge-notification-functions nil
  "Abnormal hook run for each notification from the bridge.
Each function gets the method (a string) and its params (a plist).")

(define-error 'agent-bridge-error "agent-bridge request failed")

(defconst agent-bridge-error-connection-closed -32097
  "Code of the error for a request whose bridge exited.")

(defconst agent-bridge-error-timeout -32098
  "Code of the error for a request that timed out.")

(defun agent-bridge-error-code (err)
  "The JSON-RPC code of ERR, an `agent-bridge-error' condition."
  (nth 1 err))

(defun agent-bridge-error-message (err)
  "The message of ERR, an `agent-bridge-error' condition."
  (nth 2 err))

(defun agent-bridge-error-data (err)
  "The data of ERR, an `agent-bridge-error' condition (a plist or nil)."
  (nth 3 err))

;;;; Connections

(defvar agent-bridge--connections (make-hash-table :test #'equal)
  "Live connections, by workspace directory.")

(defvar agent-bridge--token-counter 0)

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

(defun agent-bridge--start (workspace)
  "Start agent-bridge on WORKSPACE and return the connection."
  (let* ((program (car agent-bridge-command))
         (name (format "agent-bridge %s" workspace))
         (default-directory (file-name-as-directory workspace)))
    (unless (and program (executable-find program))
      (user-error "agent-bridge: cannot find %S; set `agent-bridge-command' to the program"
                  program))
    (let ((conn
           (make-instance
            'jsonrpc-process-connection
            :name name
            :process (lambda ()
                       (make-process
                        :name name
                        :command agent-bridge-command
                        :connection-type 'pipe
                        :coding 'utf-8-emacs-unix
                        :noquery t
                        ;; jsonrpc.el expects exactly this stderr buffer name.
                        :stderr (get-buffer-create (format "*%s stderr*" name))))
            :request-dispatcher #'agent-bridge--handle-request
            :notification-dispatcher #'agent-bridge--handle-notification
            :on-shutdown #'agent-bridge--on-shutdown)))
      (process-put (jsonrpc--process conn) 'agent-bridge-workspace workspace)
      (puthash workspace conn agent-bridge--connections)
      ;; Requests are answered in arrival order around initialize, so
      ;; nothing waits for its reply; a failure shows in the events buffer.
      (jsonrpc-async-request
       conn :initialize
       (list :processId (emacs-pid)
             :clientInfo (list :name "emacs" :version emacs-version)
             :rootPath workspace
             :capabilities (make-hash-table))
       :success-fn (lambda (_) (jsonrpc-notify conn :initialized (make-hash-table)))
       :error-fn (lambda (err) (message "agent-bridge: initialize failed: %S" err)))
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

(defun agent-bridge--handle-notification (_conn method params)
  "Run `agent-bridge-notification-functions' for METHOD with PARAMS."
  (let ((name (if (symbolp method) (symbol-name method) method)))
    (run-hook-with-args 'agent-bridge-notification-functions
                        name (agent-bridge--listify params))))

(defun agent-bridge--on-shutdown (conn)
  "Forget CONN once its process is gone; say so unless it was asked to stop."
  (let* ((proc (jsonrpc--process conn))
         (workspace (process-get proc 'agent-bridge-workspace)))
    (when (eq (gethash workspace agent-bridge--connections) conn)
      (remhash workspace agent-bridge--connections))
    (unless (process-get proc 'agent-bridge-stopping)
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

(cl-defun agent-bridge-request (method &optional params &key timeout workspace)
  "Call METHOD with PARAMS (a plist) and return the result.
JSON arrays come back as lists and objects as plists.  On failure,
signal `agent-bridge-error' with data (CODE MESSAGE DATA), where
CODE is the JSON-RPC error code.  TIMEOUT defaults to
`agent-bridge-request-timeout'; WORKSPACE to the current one.

A request that times out, or that \\[keyboard-quit] interrupts, is
cancelled on the bridge with $/cancelRequest, so a long zip stops."
  (let* ((conn (agent-bridge--connection workspace))
         (timeout (or timeout agent-bridge-request-timeout))
         (outcome nil)
         (id nil))
    (jsonrpc-async-request
     conn (agent-bridge--method method) (agent-bridge--params params)
     :success-fn (lambda (result) (setq outcome (list :result result)))
     :error-fn (lambda (err) (setq outcome (list :error err)))
     :timeout-fn (lambda () (setq outcome (list :timeout)))
     :timeout timeout)
    ;; The id just used, to cancel with; jsonrpc.el keeps it in this slot.
    (setq id (ignore-errors (jsonrpc--next-request-id conn)))
    (unwind-protect
        (while (not outcome)
          (accept-process-output nil 0.05))
      (when (and (not (eq (car outcome) :result)) (not (eq (car outcome) :error))
                 id (jsonrpc-running-p conn))
        (ignore-errors (jsonrpc-notify conn :$/cancelRequest (list :id id)))))
    (pcase outcome
      (`(:result ,result) (agent-bridge--listify result))
      (`(:timeout)
       (signal 'agent-bridge-error
               (list agent-bridge-error-timeout
                     (format "%s timed out after %s seconds" method timeout) nil)))
      (`(:error ,err)
       (let ((code (plist-get err :code)))
         (signal 'agent-bridge-error
                 (list (if (eql code -1) agent-bridge-error-connection-closed code)
                       (or (plist-get err :message) "request failed")
                       (agent-bridge--listify (plist-get err :data)))))))))

(defun agent-bridge--method (method)
  "METHOD, a string or symbol, as the symbol jsonrpc.el sends."
  (if (stringp method) (intern method) method))

(defun agent-bridge-notify (method &optional params)
  "Send the notification METHOD with PARAMS (a plist)."
  (jsonrpc-notify (agent-bridge--connection) (agent-bridge--method method)
                  (agent-bridge--params params)))

(defun agent-bridge-stop (&optional workspace timeout)
  "Stop the bridge of WORKSPACE: shutdown, exit, and a kill after TIMEOUT seconds.
Return the process's exit status, or nil when none was running."
  (interactive)
  (let* ((workspace (or workspace (agent-bridge--workspace)))
         (conn (gethash workspace agent-bridge--connections))
         (timeout (or timeout 2)))
    (when conn
      (remhash workspace agent-bridge--connections)
      (let ((proc (jsonrpc--process conn)))
        (process-put proc 'agent-bridge-stopping t)
        (when (process-live-p proc)
          (ignore-errors
            (jsonrpc-request conn :shutdown (make-hash-table) :timeout timeout)
            (jsonrpc-notify conn :exit (make-hash-table)))
          (with-timeout (timeout nil)
            (while (process-live-p proc)
              (accept-process-output proc 0.05)))
          (when (process-live-p proc)
            (kill-process proc)))
        (jsonrpc-shutdown conn t)
        (process-exit-status proc)))))

(defun agent-bridge-stop-all ()
  "Stop every running bridge."
  (interactive)
  (dolist (workspace (hash-table-keys agent-bridge--connections))
    (agent-bridge-stop workspace)))

(add-hook 'kill-emacs-hook #'agent-bridge-stop-all)

;;;; Changes

(defconst agent-bridge--status-names
  '(("A" . "added") ("M" . "modified") ("D" . "deleted") ("U" . "conflict")))

(defvar agent-bridge-changes-mode-map
  (let ((map (make-sparse-keymap)))
    (define-key map (kbd "RET") #'agent-bridge-changes-diff)
    (define-key map (kbd "d") #'agent-bridge-changes-diff)
    (define-key map (kbd "o") #'agent-bridge-changes-visit)
    (define-key map (kbd "f") #'agent-bridge-changes-visit)
    map)
  "Keys of `agent-bridge-changes-mode'.")

(define-derived-mode agent-bridge-changes-mode tabulated-list-mode "Agent-Changes"
  "The agent's changes, one line per file.
\\<agent-bridge-changes-mode-map>\\[agent-bridge-changes-diff] shows the diff, \
\\[agent-bridge-changes-visit] visits the file, \\[revert-buffer] refreshes."
  (setq tabulated-list-format [("Status" 9 t) ("Path" 60 t)])
  (setq tabulated-list-padding 1)
  (add-hook 'tabulated-list-revert-hook #'agent-bridge--changes-refresh nil t)
  (tabulated-list-init-header))

(defun agent-bridge--changes-refresh ()
  "Fill `tabulated-list-entries' from gitChanges."
  (setq tabulated-list-entries
        (mapcar (lambda (change)
                  (let ((status (plist-get change :status))
                        (path (plist-get change :path)))
                    (list path
                          (vector (format "%s %s" status
                                          (or (cdr (assoc status agent-bridge--status-names)) ""))
                                  path))))
                (agent-bridge-request "gitChanges"))))

;;;###autoload
(defun agent-bridge-changes ()
  "List the agent's changes in a buffer; RET on a line opens its diff."
  (interactive)
  (let* ((workspace (agent-bridge--workspace))
         (buffer (get-buffer-create (format "*agent-bridge changes: %s*"
                                            (file-name-nondirectory workspace)))))
    (with-current-buffer buffer
      (agent-bridge-changes-mode)
      (setq agent-bridge--buffer-workspace workspace)
      (setq default-directory (file-name-as-directory workspace))
      (agent-bridge--changes-refresh)
      (tabulated-list-print)
      (when (null tabulated-list-entries)
        (message "agent-bridge: no changes in %s" workspace)))
    (pop-to-buffer buffer)
    buffer))

(defun agent-bridge-changes-diff ()
  "Show the diff of the change at point."
  (interactive)
  (let ((path (tabulated-list-get-id)))
    (unless path (user-error "No change on this line"))
    (agent-bridge-diff path)))

(defun agent-bridge-changes-visit ()
  "Visit the file of the change at point."
  (interactive)
  (let ((path (tabulated-list-get-id)))
    (unless path (user-error "No change on this line"))
    (find-file (expand-file-name path (agent-bridge--workspace)))))

;;;; Diff

(defun agent-bridge--relative (file)
  "FILE relative to the workspace, or nil when outside it."
  (when file
    (let ((root (file-name-as-directory (agent-bridge--workspace)))
          (full (expand-file-name file)))
      (when (string-prefix-p root full)
        (substring full (length root))))))

(defun agent-bridge--read-changed-path (prompt)
  "Read a workspace path with PROMPT, offering the changed files."
  (let* ((default (agent-bridge--relative buffer-file-name))
         (paths (mapcar (lambda (c) (plist-get c :path)) (agent-bridge-request "gitChanges"))))
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

;;;###autoload
(defun agent-bridge-diff (path)
  "Diff PATH (relative to the workspace) against the base the agent started from.
Shows a unified diff in `diff-mode', or an Ediff session, as
`agent-bridge-diff-function' says.  Return the diff buffer (diff-mode)."
  (interactive (list (agent-bridge--read-changed-path "Diff file")))
  (let* ((workspace (agent-bridge--workspace))
         (diff (agent-bridge-request "gitDiff" (list :path path)))
         (original (or (plist-get diff :original) ""))
         (modified (or (plist-get diff :modified) ""))
         (file (expand-file-name path workspace)))
    (if (eq agent-bridge-diff-function 'ediff)
        (ediff-buffers
         (agent-bridge--text-buffer (format "*agent-bridge original: %s*" path) original file)
         (if (file-exists-p file)
             (find-file-noselect file)
           (agent-bridge--text-buffer (format "*agent-bridge deleted: %s*" path) "" file)))
      (let ((old (agent-bridge--write-temp (concat original (if (string-empty-p original) "" "\n"))))
            (new (agent-bridge--write-temp (concat modified (if (string-empty-p modified) "" "\n"))))
            (buffer (get-buffer-create (format "*agent-bridge diff: %s*" path))))
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
              (diff-mode)
              (setq agent-bridge--buffer-workspace workspace)
              (setq default-directory (file-name-as-directory workspace))
              (setq buffer-read-only t)
              (set-buffer-modified-p nil)
              (goto-char (point-min)))
          (delete-file old)
          (delete-file new))
        (display-buffer buffer)
        buffer))))

;;;; Files, zip, feedback

;;;###autoload
(defun agent-bridge-find-file (path)
  "Visit PATH, read with completion over every file of the workspace."
  (interactive
   (list (completing-read "Agent workspace file: "
                          (agent-bridge-request "listFiles" '(:recursive t))
                          nil t)))
  (find-file (expand-file-name path (agent-bridge--workspace))))

(defun agent-bridge--human-bytes (bytes)
  "BYTES as a short human-readable size."
  (if (< bytes 1024)
      (format "%d B" bytes)
    (file-size-human-readable bytes 'iec " ")))

;;;###autoload
(defun agent-bridge-zip (destination)
  "Write the whole workspace as a zip file to DESTINATION.
Return the result plist (:path :bytes :entries :skipped :sha256)."
  (interactive
   (let* ((workspace (agent-bridge--workspace))
          (file (read-file-name "Write the workspace zip to: " nil nil nil
                                (concat (file-name-nondirectory workspace) ".zip"))))
     (when (and (file-exists-p file)
                (not (yes-or-no-p (format "%s exists; replace it? " file))))
       (user-error "Not replaced"))
     (list file)))
  (let* ((target (expand-file-name destination))
         (token (format "emacs-zip-%d-%d" (emacs-pid) (cl-incf agent-bridge--token-counter)))
         (reporter (make-progress-reporter "agent-bridge: zipping the workspace..." 0 100))
         (progress (lambda (method params)
                     (when (and (equal method "$/progress")
                                (equal (plist-get params :token) token))
                       (let* ((value (plist-get params :value))
                              (percentage (plist-get value :percentage)))
                         (when (numberp percentage)
                           (progress-reporter-update reporter percentage))))))
         result)
    (add-hook 'agent-bridge-notification-functions progress)
    (unwind-protect
        (setq result (agent-bridge-request "zipDirectory"
                                           (list :destination target :workDoneToken token)
                                           :timeout agent-bridge-zip-timeout))
      (remove-hook 'agent-bridge-notification-functions progress))
    (progress-reporter-done reporter)
    (message "agent-bridge: wrote %d files (%s%s) to %s"
             (plist-get result :entries)
             (agent-bridge--human-bytes (plist-get result :bytes))
             (let ((skipped (or (plist-get result :skipped) 0)))
               (if (> skipped 0) (format ", %d skipped" skipped) ""))
             (plist-get result :path))
    result))

;;;###autoload
(defun agent-bridge-submit-feedback (polarity &optional feedback email)
  "Send feedback on the agent: POLARITY is \"positive\" or \"negative\".
FEEDBACK is an optional note, EMAIL an optional address.  Return the
bridge's result plist."
  (interactive
   (list (completing-read "How did the agent's work go? " '("positive" "negative") nil t)
         (read-string "Feedback (optional): ")))
  (unless (member polarity '("positive" "negative"))
    (user-error "Feedback is positive or negative, not %S" polarity))
  (let* ((result (agent-bridge-request
                  "submitFeedback"
                  (list :polarity polarity
                        :permissions "private"
                        :feedback (and feedback (not (string-empty-p feedback)) feedback)
                        :email (and email (not (string-empty-p email)) email))))
         (id (plist-get (plist-get result :body) :feedback_id)))
    (message "agent-bridge: feedback submitted%s.  Thank you."
             (if id (format " (id %s)" id) ""))
    result))

(provide 'agent-bridge)

;;; agent-bridge.el ends here
