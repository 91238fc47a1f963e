;;; agent-bridge-tests.el --- ERT tests for agent-bridge.el  -*- lexical-binding: t; -*-

;; Run with: bash editors/emacs/test/run.sh
;; Against the real binary (AGENT_BRIDGE_BIN, default .build/debug/agent-bridge)
;; on temp git repositories.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'agent-bridge)

(defconst agent-bridge-test--root
  (expand-file-name "../../.." (file-name-directory (or load-file-name buffer-file-name))))

(defconst agent-bridge-test--bin
  (expand-file-name (or (getenv "AGENT_BRIDGE_BIN")
                        (expand-file-name ".build/debug/agent-bridge" agent-bridge-test--root))))

(defvar agent-bridge-test--methods nil)

(defun agent-bridge-test--has (&rest methods)
  "Non-nil when the binary serves every one of METHODS."
  (unless agent-bridge-test--methods
    (let ((doc (json-parse-string
                (with-output-to-string
                  (call-process agent-bridge-test--bin nil standard-output nil "openrpc"))
                :object-type 'plist)))
      (setq agent-bridge-test--methods
            (mapcar (lambda (m) (plist-get m :name)) (plist-get doc :methods)))))
  (cl-every (lambda (m) (member m agent-bridge-test--methods)) methods))

(defun agent-bridge-test--git (dir &rest args)
  (let ((default-directory (file-name-as-directory dir)))
    (unless (eql 0 (apply #'call-process "git" nil nil nil
                          "-c" "user.name=Test" "-c" "user.email=test@example.com" args))
      (error "git %S failed" args))))

(defun agent-bridge-test--write (file text)
  (make-directory (file-name-directory file) t)
  (let ((coding-system-for-write 'utf-8-unix))
    (with-temp-file file (insert text))))

(defun agent-bridge-test--temp-dir ()
  (file-truename (make-temp-file "agent-bridge-emacs-" t)))

(defun agent-bridge-test--make-repo ()
  "A repository with one commit, then M src/app.el, D old.txt, A notes/new.md."
  (let ((dir (agent-bridge-test--temp-dir)))
    (agent-bridge-test--git dir "init" "-q")
    (agent-bridge-test--write (expand-file-name "src/app.el" dir) "one\ntwo\nthree\n")
    (agent-bridge-test--write (expand-file-name "old.txt" dir) "to be deleted\n")
    (agent-bridge-test--write (expand-file-name "README.md" dir) "# demo\n")
    (agent-bridge-test--write (expand-file-name ".gitignore" dir) "build/\n")
    (agent-bridge-test--git dir "add" "-A")
    (agent-bridge-test--git dir "commit" "-q" "-m" "initial")
    (agent-bridge-test--write (expand-file-name "src/app.el" dir) "one\n2\nthree\nfour\n")
    (delete-file (expand-file-name "old.txt" dir))
    (agent-bridge-test--write (expand-file-name "notes/new.md" dir) "fresh\n")
    (agent-bridge-test--write (expand-file-name "build/out.o" dir) "ignored\n")
    dir))

(defmacro agent-bridge-test--with-workspace (spec &rest body)
  "Run BODY with SPEC = (VAR DIR [EXTRA-ARGS]) as the bridge's workspace."
  (declare (indent 1))
  (let ((var (car spec)))
    `(let* ((,var ,(nth 1 spec))
            (agent-bridge-workspace ,var)
            (agent-bridge-command (append (list agent-bridge-test--bin) ,(nth 2 spec)))
            (default-directory (file-name-as-directory ,var)))
       (unwind-protect
           (progn ,@body)
         (agent-bridge-stop ,var 1)
         (if (file-symlink-p ,var) (delete-file ,var) (delete-directory ,var t))))))

(defmacro agent-bridge-test--should-fail-with (code &rest body)
  "Assert BODY signals `agent-bridge-error' with CODE; return the error."
  (declare (indent 1))
  `(let ((err (should-error (progn ,@body) :type 'agent-bridge-error)))
     (should (equal (agent-bridge-error-code err) ,code))
     err))

(defun agent-bridge-test--process (repo)
  (agent-bridge--connection-process (gethash repo agent-bridge--connections)))

(defun agent-bridge-test--wait (what pred &optional seconds)
  "Process events until PRED is non-nil (return it) or SECONDS (default 10) pass."
  (let ((deadline (+ (float-time) (or seconds 10)))
        (value nil))
    (while (and (not (setq value (funcall pred))) (< (float-time) deadline))
      (accept-process-output nil 0.02))
    (or value (ert-fail (format "timed out waiting for %s" what)))))

(defun agent-bridge-test--text (buffer)
  (with-current-buffer buffer (buffer-substring-no-properties (point-min) (point-max))))

(defun agent-bridge-test--goto-path (path)
  "Move to the line of PATH in the current changes buffer."
  (goto-char (point-min))
  (while (and (not (equal (agent-bridge--changes-path-at) path)) (not (eobp)))
    (forward-line 1))
  (should (equal (agent-bridge--changes-path-at) path)))

;;;; Transport

(ert-deftest agent-bridge-test-request-returns-results ()
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (should (equal (agent-bridge-request "health") "OK"))
    (let ((conversations (agent-bridge-request "listConversations")))
      (should (listp conversations))
      (should (equal (length conversations) 1))
      (should (equal (plist-get (car conversations) :workspace) repo)))
    ;; Arrays are lists, nested ones too.
    (let ((doc (agent-bridge-request "rpc.discover")))
      (should (listp (plist-get doc :methods)))
      (should (member "health" (mapcar (lambda (m) (plist-get m :name)) (plist-get doc :methods)))))))

(ert-deftest agent-bridge-test-errors-carry-their-code ()
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (let ((err (agent-bridge-test--should-fail-with -32601
                 (agent-bridge-request "noSuchMethod"))))
      (should (string-match-p "noSuchMethod" (agent-bridge-error-message err))))
    (let ((err (agent-bridge-test--should-fail-with -32001
                 (agent-bridge-request "closeConversation" '(:conversationId "nope")))))
      (should (equal (agent-bridge-error-data err)
                     '(:httpStatus 404 :body (:detail "Conversation nope not found")))))
    (agent-bridge-test--should-fail-with -32602
      (agent-bridge-request "openConversation" '(:workspace 42)))
    ;; The client already sent initialize; a second one is refused.
    (agent-bridge-test--should-fail-with -32600
      (agent-bridge-request "initialize" '(:processId 1)))
    (should (equal (agent-bridge-request "health") "OK"))))

(ert-deftest agent-bridge-test-non-ascii-round-trip ()
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (let ((other (expand-file-name "dossier-é-€-😀" repo)))
      (make-directory other)
      (let* ((opened (agent-bridge-request "openConversation" (list :workspace other)))
             (id (plist-get opened :conversationId)))
        (should (cl-find-if (lambda (c) (and (equal (plist-get c :conversationId) id)
                                             (equal (plist-get c :workspace) other)))
                            (agent-bridge-request "listConversations")))))))

(ert-deftest agent-bridge-test-stderr-buffer ()
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo) '("--log-level" "info"))
    (should (equal (agent-bridge-request "health") "OK"))
    (let ((stderr (jsonrpc-stderr-buffer (gethash repo agent-bridge--connections))))
      (with-timeout (5 (ert-fail "no log line on stderr"))
        (while (not (with-current-buffer stderr
                      (string-match-p (regexp-quote (concat "serving " repo)) (buffer-string))))
          (accept-process-output nil 0.05))))))

(ert-deftest agent-bridge-test-stop-shutdown-exit ()
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (should (equal (agent-bridge-request "health") "OK"))
    (let ((proc (agent-bridge-test--process repo)))
      (should (equal (agent-bridge-stop repo) 0))
      (should-not (process-live-p proc))
      (should-not (gethash repo agent-bridge--connections))
      (should (equal (agent-bridge-request "health") "OK"))
      (should-not (eq proc (agent-bridge-test--process repo))))))

(ert-deftest agent-bridge-test-stop-kills-unresponsive ()
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (should (equal (agent-bridge-request "health") "OK"))
    (let ((proc (agent-bridge-test--process repo)))
      (signal-process proc 'STOP)
      ;; Delivery is asynchronous: wait until Emacs sees it stopped.
      (with-timeout (5 (ert-fail "the process did not stop"))
        (while (not (eq (process-status proc) 'stop))
          (accept-process-output nil 0.02)))
      (agent-bridge-stop repo 0.3)
      (should-not (process-live-p proc))
      (should (eq (process-status proc) 'signal)))))

;; Emacs refuses to write to a stopped (SIGSTOP) process, so requests that
;; must stay in flight use a zip of a large workspace instead.
(defun agent-bridge-test--make-big-repo ()
  (let ((repo (agent-bridge-test--make-repo)))
    ;; 200 MiB of zeros: quick to write, a few seconds to zip in a debug build.
    (let ((default-directory (file-name-as-directory repo)))
      (unless (eql 0 (call-process "sh" nil nil nil "-c"
                                   "mkdir big && for i in $(seq 200); do head -c 1048576 /dev/zero > big/f$i; done"))
        (error "could not write the big files")))
    repo))

(defun agent-bridge-test--capturing-messages (fn)
  "Call FN; return the messages shown meanwhile."
  (let ((messages nil))
    (cl-letf* ((original (symbol-function 'message))
               ((symbol-function 'message)
                (lambda (fmt &rest args)
                  (when fmt (push (apply #'format fmt args) messages))
                  (apply original fmt args))))
      (funcall fn))
    (nreverse messages)))

(ert-deftest agent-bridge-test-crash-while-idle ()
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (should (equal (agent-bridge-request "health") "OK"))
    (let* ((proc (agent-bridge-test--process repo))
           (messages (agent-bridge-test--capturing-messages
                      (lambda ()
                        (signal-process proc 'KILL)
                        (with-timeout (5 (ert-fail "no sentinel"))
                          (while (gethash repo agent-bridge--connections)
                            (accept-process-output nil 0.05)))))))
      (should (cl-some (lambda (m) (string-match-p "exited unexpectedly" m)) messages))
      (should (equal (agent-bridge-request "health") "OK"))
      (should-not (eq proc (agent-bridge-test--process repo))))))

(ert-deftest agent-bridge-test-crash-in-flight ()
  (skip-unless (agent-bridge-test--has "zipDirectory"))
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-big-repo))
    (let ((out (agent-bridge-test--temp-dir)))
      (unwind-protect
          (progn
            (should (equal (agent-bridge-request "health") "OK"))
            (let ((proc (agent-bridge-test--process repo)))
              (run-at-time 0.1 nil (lambda () (signal-process proc 'KILL)))
              (agent-bridge-test--should-fail-with agent-bridge-error-connection-closed
                (agent-bridge-request "zipDirectory"
                                      (list :destination (expand-file-name "c.zip" out))))))
        (delete-directory out t)))))

(ert-deftest agent-bridge-test-timeout-cancels ()
  (skip-unless (agent-bridge-test--has "zipDirectory"))
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-big-repo))
    (let ((out (agent-bridge-test--temp-dir)))
      (unwind-protect
          (let ((target (expand-file-name "t.zip" out)))
            (should (equal (agent-bridge-request "health") "OK"))
            (agent-bridge-test--should-fail-with agent-bridge-error-timeout
              (agent-bridge-request "zipDirectory" (list :destination target) :timeout 0.05))
            ;; The bridge got $/cancelRequest: the zip stops and is not written.
            (should (equal (agent-bridge-request "health") "OK"))
            (sleep-for 1)
            (should-not (file-exists-p target)))
        (delete-directory out t)))))

(ert-deftest agent-bridge-test-missing-binary ()
  (let* ((agent-bridge-command '("/nonexistent/agent-bridge"))
         (agent-bridge-workspace temporary-file-directory)
         (err (should-error (agent-bridge-request "health") :type 'user-error)))
    (should (string-match-p "/nonexistent/agent-bridge" (cadr err)))
    (should (string-match-p "agent-bridge-command" (cadr err)))))

(ert-deftest agent-bridge-test-progress-notifications ()
  (skip-unless (agent-bridge-test--has "zipDirectory"))
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (let* ((seen nil)
           (out (agent-bridge-test--temp-dir))
           (hook (lambda (method params) (push (cons method params) seen))))
      (unwind-protect
          (progn
            (add-hook 'agent-bridge-notification-functions hook)
            (agent-bridge-request "zipDirectory"
                                  (list :destination (expand-file-name "p.zip" out)
                                        :workDoneToken "tok-1"))
            (with-timeout (3 nil)
              (while (not (cl-find-if (lambda (n) (equal (plist-get (plist-get (cdr n) :value) :kind) "end"))
                                      seen))
                (accept-process-output nil 0.05))))
        (remove-hook 'agent-bridge-notification-functions hook)
        (delete-directory out t))
      (setq seen (nreverse seen))
      (should (equal (car (car seen)) "$/progress"))
      (should (equal (plist-get (cdr (car seen)) :token) "tok-1"))
      (should (equal (plist-get (plist-get (cdr (car seen)) :value) :kind) "begin"))
      (should (equal (plist-get (plist-get (cdr (car (last seen))) :value) :kind) "end")))))

;;;; The package itself

(ert-deftest agent-bridge-test-no-private-jsonrpc-accessors ()
  (let ((source (with-temp-buffer
                  (insert-file-contents (locate-library "agent-bridge.el"))
                  (buffer-string))))
    (should-not (string-match-p "jsonrpc--" source))))

(ert-deftest agent-bridge-test-prefix-keymap ()
  (should (keymapp (symbol-function 'agent-bridge-command-map)))
  (should (eq (lookup-key agent-bridge-command-map "c") 'agent-bridge-changes))
  (should (eq (lookup-key agent-bridge-command-map "d") 'agent-bridge-diff))
  (should (eq (lookup-key agent-bridge-command-map "z") 'agent-bridge-zip))
  (let ((map (make-sparse-keymap)))
    (define-key map (kbd "C-c b") 'agent-bridge-command-map)
    (should (eq (lookup-key map (kbd "C-c b f")) 'agent-bridge-find-file))))

;;;; A stalled bridge

(defun agent-bridge-test--child-pid (pid)
  "The pid of the one child of PID, once it exists."
  (agent-bridge-test--wait
   "the bridge below the wrapper"
   (lambda ()
     (let ((out (string-trim (shell-command-to-string (format "pgrep -P %d" pid)))))
       (and (string-match-p "\\`[0-9]+\\'" out) (string-to-number out))))))

(ert-deftest agent-bridge-test-stalled-bridge-does-not-freeze ()
  "A bridge that reads requests but never answers (here: SIGSTOPped below a
wrapper that keeps the pipe open, as a paused container under `podman
exec' would) costs the user nothing: commands return at once, and the
request ends in a one-line message."
  (skip-unless (agent-bridge-test--has "gitDiff" "gitChanges"))
  (skip-unless (executable-find "pgrep"))
  (let* ((agent-bridge-request-timeout 1)
         (bridge nil))
    (agent-bridge-test--with-workspace
        (repo (agent-bridge-test--make-repo))
      ;; sh runs the bridge as its child and waits: Emacs's pipe stays writable.
      (setq agent-bridge-command (list "sh" "-c" "\"$0\" \"$@\"; exit $?" agent-bridge-test--bin))
      (unwind-protect
          (progn
            (should (equal (agent-bridge-request "health") "OK"))
            (setq bridge (agent-bridge-test--child-pid
                          (process-id (agent-bridge-test--process repo))))
            (signal-process bridge 'STOP)
            (let* ((ticks 0)
                   (timer (run-at-time 0.05 0.05 (lambda () (cl-incf ticks))))
                   (started (float-time))
                   diff view messages)
              (unwind-protect
                  (setq messages
                        (agent-bridge-test--capturing-messages
                         (lambda ()
                           (setq diff (agent-bridge-diff "src/app.el"))
                           (setq view (agent-bridge-changes))
                           ;; Both returned without waiting for the bridge.
                           (should (< (- (float-time) started) 0.5))
                           (should (string-match-p "Asking the bridge" (agent-bridge-test--text diff)))
                           (should (string-match-p "Asking the bridge" (agent-bridge-test--text view)))
                           (agent-bridge-test--wait
                            "the timeout message"
                            (lambda () (string-match-p "No diff of src/app.el: no answer"
                                                       (agent-bridge-test--text diff)))
                            5)
                           ;; The view says what happened, and g retries.
                           (agent-bridge-test--wait
                            "the view's error"
                            (lambda () (string-match-p "no answer to subscribe after 1 seconds"
                                                       (agent-bridge-test--text view)))
                            5)
                           (should (string-match-p "error (g retries)"
                                                   (with-current-buffer view (agent-bridge--changes-header)))))))
                (cancel-timer timer))
              ;; Timers kept running all along: Emacs was never blocked.
              (should (> ticks 10))
              (should (cl-some (lambda (m)
                                 (string-match-p "\\`agent-bridge: no answer to gitDiff after 1 seconds" m))
                               messages))
              (should-not (cl-some (lambda (m) (string-match-p ":code\\|:httpStatus\\|jsonrpc" m))
                                   messages))
              (kill-buffer diff)
              (kill-buffer view)))
        (when bridge (signal-process bridge 'KILL))))))

(ert-deftest agent-bridge-test-stopped-bridge-is-a-user-error ()
  (skip-unless (agent-bridge-test--has "gitDiff"))
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (should (equal (agent-bridge-request "health") "OK"))
    (let ((proc (agent-bridge-test--process repo))
          (started (float-time)))
      (signal-process proc 'STOP)
      (agent-bridge-test--wait "Emacs to see the bridge stopped"
                               (lambda () (eq (process-status proc) 'stop)) 5)
      (setq started (float-time))
      (let ((err (should-error (agent-bridge-diff "src/app.el") :type 'user-error)))
        (should (string-match-p "is stopped" (cadr err))))
      (should (< (- (float-time) started) 0.5))
      (signal-process proc 'CONT))))

(ert-deftest agent-bridge-test-errors-reach-the-user-as-their-message ()
  (skip-unless (agent-bridge-test--has "gitDiff" "selectFile"))
  (agent-bridge-test--with-workspace (dir (agent-bridge-test--temp-dir))
    (agent-bridge-test--write (expand-file-name "a.txt" dir) "a\n")
    (let* ((buffer nil)
           (messages (agent-bridge-test--capturing-messages
                      (lambda ()
                        (setq buffer (agent-bridge-diff "a.txt"))
                        (agent-bridge-test--wait
                         "the error" (lambda () (string-match-p "No diff" (agent-bridge-test--text buffer))))))))
      (should (member "agent-bridge: Not a git repository" messages))
      (should-not (cl-some (lambda (m) (string-match-p "-32016\\|:httpStatus\\|(:" m)) messages))
      (kill-buffer buffer))
    ;; Where a command waits for candidates, the error is a user-error.
    (let ((err (should-error (agent-bridge--await "selectFile" '(:file "missing.txt") "a file")
                             :type 'user-error)))
      (should (string-match-p "\\`agent-bridge: " (cadr err)))
      (should-not (string-match-p ":httpStatus\\|(:" (cadr err))))))

;;;; The changes view

(defun agent-bridge-test--live-view (count)
  "Open the changes view and wait until it is live with COUNT entries."
  (let ((buffer (agent-bridge-changes)))
    (agent-bridge-test--wait
     (format "a live view of %d changes" count)
     (lambda () (with-current-buffer buffer
                  (and (eq agent-bridge--changes-state 'live)
                       (= (length agent-bridge--changes) count))))
     60)
    buffer))

(ert-deftest agent-bridge-test-changes-buffer ()
  (skip-unless (agent-bridge-test--has "gitChanges" "gitDiff" "subscribe"))
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (let ((buffer (agent-bridge-test--live-view 3)))
      (unwind-protect
          (with-current-buffer buffer
            (should (eq major-mode 'agent-bridge-changes-mode))
            ;; Full status words, one line per change.
            (should (equal (agent-bridge-test--text buffer)
                           (concat " added    notes/new.md\n"
                                   " deleted  old.txt\n"
                                   " modified src/app.el\n")))
            (should (string-match-p "3 changes, live" (agent-bridge--changes-header)))
            (agent-bridge-test--goto-path "src/app.el")
            (should (eq (key-binding (kbd "RET")) 'agent-bridge-changes-diff))
            (let ((diff (call-interactively #'agent-bridge-changes-diff)))
              (with-current-buffer diff
                (agent-bridge-test--wait "the diff" (lambda () (string-match-p "^@@" (buffer-string))))
                (should (eq major-mode 'diff-mode))
                ;; At the first hunk.
                (should (looking-at "^@@ "))
                (let ((text (buffer-string)))
                  (should (string-match-p "^--- a/src/app.el$" text))
                  (should (string-match-p "^\\+\\+\\+ b/src/app.el$" text))
                  (should (string-match-p "^-two$" text))
                  (should (string-match-p "^\\+2$" text))
                  (should (string-match-p "^\\+four$" text))
                  (should-not (string-match-p "No newline" text))))
              (kill-buffer diff)))
        (kill-buffer buffer)))))

(ert-deftest agent-bridge-test-visit-goes-to-the-first-change ()
  (skip-unless (agent-bridge-test--has "gitChanges" "gitDiff" "subscribe"))
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (let ((view (agent-bridge-test--live-view 3)))
      (with-current-buffer view
        (agent-bridge-test--goto-path "src/app.el")
        (let ((file (call-interactively #'agent-bridge-changes-visit)))
          (with-current-buffer file
            (should (equal buffer-file-name (expand-file-name "src/app.el" repo)))
            (agent-bridge-test--wait "point on the first change" (lambda () (= (line-number-at-pos) 2)))
            (should (looking-at "2$"))
            (kill-buffer file))))
      (kill-buffer view))))

(ert-deftest agent-bridge-test-notification-updates-the-view-in-place ()
  (skip-unless (agent-bridge-test--has "gitChanges" "subscribe"))
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (let ((buffer (agent-bridge-test--live-view 3)))
      (unwind-protect
          (with-current-buffer buffer
            (set-window-buffer (selected-window) buffer)
            (set-window-start (selected-window) (point-min))
            (agent-bridge-test--goto-path "src/app.el")
            (forward-char 3)
            ;; The agent adds a file listed before the one at point...
            (agent-bridge-test--write (expand-file-name "a new file.txt" repo) "x\n")
            (agent-bridge-test--wait "the new file in the view"
                                     (lambda () (= (length agent-bridge--changes) 4)))
            (should (string-prefix-p " added    a new file.txt\n" (agent-bridge-test--text buffer)))
            ;; ...and point stays on the same change, in the same column.
            (should (equal (agent-bridge--changes-path-at) "src/app.el"))
            (should (= (current-column) 3))
            ;; The window still starts at the top: the new entry is in sight.
            (should (= (window-start) (point-min)))
            (should (= (window-point) (point)))
            ;; The change at point goes away: point stays on its line.
            (agent-bridge-test--git repo "checkout" "--" "src/app.el")
            (agent-bridge-test--wait "src/app.el gone from the view"
                                     (lambda () (= (length agent-bridge--changes) 3)))
            (should (= (line-number-at-pos) 4))
            (should (eobp))
            ;; Nothing left: the view says so, and stays subscribed.
            (agent-bridge-test--git repo "add" "-A")
            (agent-bridge-test--git repo "commit" "-q" "-m" "all")
            (agent-bridge-test--wait "an empty view" (lambda () (zerop (length agent-bridge--changes))))
            (should (equal (agent-bridge-test--text buffer) " No changes.\n"))
            (should (eq agent-bridge--changes-state 'live)))
        (kill-buffer buffer)))))

(ert-deftest agent-bridge-test-view-after-the-bridge-exits ()
  (skip-unless (agent-bridge-test--has "gitChanges" "subscribe"))
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (let* ((buffer (agent-bridge-test--live-view 3))
           (proc (agent-bridge-test--process repo)))
      (with-current-buffer buffer
        (signal-process proc 'KILL)
        (agent-bridge-test--wait "the view to notice" (lambda () (eq agent-bridge--changes-state 'exited)))
        ;; The list stays readable, and says it is no longer followed.
        (should (= (length agent-bridge--changes) 3))
        (should (string-match-p "bridge exited (g restarts)" (agent-bridge--changes-header)))
        (revert-buffer)
        (agent-bridge-test--wait "a live view again" (lambda () (eq agent-bridge--changes-state 'live)))
        (should-not (eq proc (agent-bridge-test--process repo)))
        (agent-bridge-test--write (expand-file-name "later.txt" repo) "x\n")
        (agent-bridge-test--wait "the new bridge's notification"
                                 (lambda () (= (length agent-bridge--changes) 4))))
      (kill-buffer buffer))))

(ert-deftest agent-bridge-test-twenty-thousand-entries-under-a-second ()
  (skip-unless (agent-bridge-test--has "gitChanges" "subscribe"))
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (let ((default-directory (file-name-as-directory repo)))
      ;; 20,000 committed files, then deleted: 20,000 changes, quick to make.
      (unless (eql 0 (call-process
                      "sh" nil nil nil "-c"
                      "for d in $(seq 100); do mkdir -p many/d$d; \
(cd many/d$d && for f in $(seq 200); do : > f$f; done); done && \
git add many && git -c user.name=T -c user.email=t@e commit -q -m many && rm -r many"))
        (error "could not make the 20,000 files")))
    (let* ((renders nil)
           (timing (lambda (render changes)
                     (let ((started (float-time)))
                       (prog1 (funcall render changes)
                         (push (cons (length changes) (- (float-time) started)) renders))))))
      (advice-add 'agent-bridge--changes-render :around timing)
      (unwind-protect
          (let ((buffer (agent-bridge-test--live-view 20003)))
            (with-current-buffer buffer
              (should (= (count-lines (point-min) (point-max)) 20003))
              (let ((seconds (cdr (assoc 20003 renders))))
                (message "20,003 entries rendered in %.3f s" seconds)
                (should (< seconds 1.0)))
              ;; An update of the same list keeps point, as fast.
              (goto-char (point-min))
              (forward-line 15000)
              (let ((path (agent-bridge--changes-path-at))
                    (started (float-time)))
                (agent-bridge-test--write (expand-file-name "0-first.txt" repo) "x\n")
                (agent-bridge-test--wait "the 20,004th entry"
                                         (lambda () (= (length agent-bridge--changes) 20004))
                                         60)
                (should (equal (agent-bridge--changes-path-at) path))
                (should (< (cdr (assoc 20004 renders)) 1.0))
                (message "update of 20,004 entries: %.3f s render, %.3f s end to end"
                         (cdr (assoc 20004 renders)) (- (float-time) started))))
            (kill-buffer buffer))
        (advice-remove 'agent-bridge--changes-render timing)))))

(ert-deftest agent-bridge-test-changes-clean-repo ()
  (skip-unless (agent-bridge-test--has "gitChanges" "subscribe"))
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (agent-bridge-test--git repo "add" "-A")
    (agent-bridge-test--git repo "commit" "-q" "-m" "all")
    (let ((buffer (agent-bridge-test--live-view 0)))
      (should (equal (agent-bridge-test--text buffer) " No changes.\n"))
      (kill-buffer buffer))))

(ert-deftest agent-bridge-test-changes-not-a-repository ()
  (skip-unless (agent-bridge-test--has "gitChanges" "subscribe" "workspaceInfo"))
  (agent-bridge-test--with-workspace (dir (agent-bridge-test--temp-dir))
    (agent-bridge-test--write (expand-file-name "a.txt" dir) "a\n")
    (let ((buffer (agent-bridge-changes)))
      (agent-bridge-test--wait "the not-a-repository text"
                               (lambda () (string-match-p "Not a git repository"
                                                          (agent-bridge-test--text buffer))))
      (should (equal (agent-bridge-test--text buffer) (format " Not a git repository: %s\n" dir)))
      (should (string-match-p "not a git repository" (with-current-buffer buffer
                                                       (agent-bridge--changes-header))))
      ;; It becomes one: the view lists its files and stops saying so.
      (agent-bridge-test--git dir "init" "-q")
      (agent-bridge-test--write (expand-file-name "b.txt" dir) "b\n")
      (agent-bridge-test--wait "the new repository's files"
                               (lambda () (= (length (buffer-local-value 'agent-bridge--changes buffer)) 2)))
      (agent-bridge-test--wait "workspaceInfo asked again"
                               (lambda () (eq (plist-get (buffer-local-value 'agent-bridge--changes-info buffer)
                                                         :gitRepository)
                                              t)))
      (should (string-match-p "2 changes, live" (with-current-buffer buffer
                                                  (agent-bridge--changes-header))))
      (kill-buffer buffer))))

(ert-deftest agent-bridge-test-changes-anchored-to-the-bridge-workspace ()
  "Opened through a symlink, the view's paths resolve in the workspace the
bridge names (its real path), whatever `default-directory' the user has."
  (skip-unless (agent-bridge-test--has "gitChanges" "subscribe" "workspaceInfo"))
  (let* ((repo (agent-bridge-test--make-repo))
         (parent (agent-bridge-test--temp-dir))
         (link (expand-file-name "link" parent)))
    (make-symbolic-link repo link)
    (unwind-protect
        (agent-bridge-test--with-workspace (ws link)
          (let ((buffer (agent-bridge-test--live-view 3)))
            (with-current-buffer buffer
              (agent-bridge-test--wait "workspaceInfo" (lambda () (consp agent-bridge--changes-info)))
              (should (equal (plist-get agent-bridge--changes-info :workspace) repo))
              (should (eq (plist-get agent-bridge--changes-info :gitRepository) t))
              (should (equal default-directory (file-name-as-directory repo)))
              (let ((default-directory "/"))
                (agent-bridge-test--goto-path "src/app.el")
                (let ((file (agent-bridge-changes-visit)))
                  (should (equal (buffer-file-name file) (expand-file-name "src/app.el" repo)))
                  (kill-buffer file))))
            (kill-buffer buffer)))
      (delete-directory repo t)
      (delete-directory parent t))))

(ert-deftest agent-bridge-test-changes-without-workspace-info ()
  "A bridge without workspaceInfo (-32601) still shows the changes, and says nothing of it.
An older bridge is played by this one behind a filter that renames the
method on its way in (same length, so the framing holds)."
  (skip-unless (agent-bridge-test--has "gitChanges" "subscribe"))
  (skip-unless (executable-find "perl"))
  (agent-bridge-test--with-workspace (dir (agent-bridge-test--temp-dir))
    (setq agent-bridge-command
          (list "sh" "-c"
                "perl -e '$|=1; while (sysread(STDIN, $b, 65536)) { $b =~ s/\"workspaceInfo\"/\"workspaceInfX\"/g; print $b }' | \"$0\""
                agent-bridge-test--bin))
    (let* ((buffer nil)
           (messages (agent-bridge-test--capturing-messages
                      (lambda ()
                        (setq buffer (agent-bridge-test--live-view 0))
                        (agent-bridge-test--wait "workspaceInfo's answer"
                                                 (lambda () (buffer-local-value 'agent-bridge--changes-info buffer)))))))
      (should (eq (buffer-local-value 'agent-bridge--changes-info buffer) 'unknown))
      (should (equal (agent-bridge-test--text buffer) " No changes.\n"))
      (should-not (cl-some (lambda (m) (string-match-p "agent-bridge:" m)) messages))
      (kill-buffer buffer))))

(ert-deftest agent-bridge-test-changes-without-subscriptions ()
  "A bridge without subscribe (-32601) gets a view that asks gitChanges
instead, on g and whenever its window is selected."
  (skip-unless (agent-bridge-test--has "gitChanges" "subscribe"))
  (skip-unless (executable-find "perl"))
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (setq agent-bridge-command
          (list "sh" "-c"
                "perl -e '$|=1; while (sysread(STDIN, $b, 65536)) { $b =~ s/\"subscribe\"/\"subscribX\"/g; print $b }' | \"$0\""
                agent-bridge-test--bin))
    (let* ((buffer nil)
           (messages (agent-bridge-test--capturing-messages
                      (lambda ()
                        (setq buffer (agent-bridge-changes))
                        (agent-bridge-test--wait "the changes, asked"
                                                 (lambda () (= (length (buffer-local-value 'agent-bridge--changes buffer)) 3)))))))
      (with-current-buffer buffer
        (should (eq agent-bridge--changes-state 'polling))
        (should (memq #'agent-bridge--changes-focus window-selection-change-functions))
        (should (string-match-p "3 changes, refreshed on focus" (agent-bridge--changes-header)))
        (agent-bridge-test--write (expand-file-name "later.txt" repo) "x\n")
        (revert-buffer)
        ;; Asked again in place, not started over.
        (should (= (length agent-bridge--changes) 3))
        (agent-bridge-test--wait "the refreshed list" (lambda () (= (length agent-bridge--changes) 4)))
        (should (eq agent-bridge--changes-state 'polling)))
      (should-not (cl-some (lambda (m) (string-match-p "agent-bridge:" m)) messages))
      (kill-buffer buffer))))

(ert-deftest agent-bridge-test-diff-deleted-and-added ()
  (skip-unless (agent-bridge-test--has "gitDiff"))
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (let ((deleted (agent-bridge-diff "old.txt"))
          (added (agent-bridge-diff "notes/new.md")))
      (agent-bridge-test--wait "both diffs"
                               (lambda () (and (string-match-p "^@@" (agent-bridge-test--text deleted))
                                               (string-match-p "^@@" (agent-bridge-test--text added)))))
      (with-current-buffer deleted
        (should (string-match-p "^-to be deleted$" (buffer-string)))
        (should-not (string-match-p "^\\+" (replace-regexp-in-string "^\\+\\+\\+.*$" "" (buffer-string)))))
      (with-current-buffer added
        (should (string-match-p "^\\+fresh$" (buffer-string))))
      (kill-buffer deleted)
      (kill-buffer added))))

(ert-deftest agent-bridge-test-find-file ()
  (skip-unless (agent-bridge-test--has "listFiles"))
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (let (offered)
      (cl-letf (((symbol-function 'completing-read)
                 (lambda (_prompt collection &rest _)
                   (setq offered collection)
                   "src/app.el")))
        (call-interactively #'agent-bridge-find-file))
      (should (equal offered '(".gitignore" "README.md" "notes/new.md" "src/app.el")))
      (should (equal buffer-file-name (expand-file-name "src/app.el" repo)))
      (kill-buffer))))

;; The agent names the files: a leading `~' is a directory of the
;; workspace, not the user's home.
(ert-deftest agent-bridge-test-tilde-paths-stay-in-the-workspace ()
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (let* ((home (agent-bridge-test--temp-dir))
           (process-environment (cons (concat "HOME=" home) process-environment)))
      (unwind-protect
          (progn
            (agent-bridge-test--write (expand-file-name "probe" home) "home\n")
            (agent-bridge-test--write (concat repo "/~/probe") "workspace\n")
            (should (equal (expand-file-name "~/probe") (expand-file-name "probe" home)))
            (let ((buffer (agent-bridge-find-file "~/probe")))
              (should (equal (buffer-local-value 'buffer-file-name buffer) (concat repo "/~/probe")))
              (should (equal (agent-bridge-test--text buffer) "workspace\n"))
              (kill-buffer buffer))
            (let ((buffer (agent-bridge-visit "~/probe")))
              (should (equal (buffer-local-value 'buffer-file-name buffer) (concat repo "/~/probe")))
              (kill-buffer buffer))
            (should-not (agent-bridge--file "../x" repo))
            (should-not (agent-bridge--file (concat "../" (file-name-nondirectory home) "/probe") repo)))
        (delete-directory home t)))))

(ert-deftest agent-bridge-test-links-out-of-the-workspace-are-not-visited ()
  (skip-unless (agent-bridge-test--has "gitDiff"))
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (let ((outside (agent-bridge-test--temp-dir)))
      (unwind-protect
          (progn
            (agent-bridge-test--write (expand-file-name "credentials" outside) "secret\n")
            (make-symbolic-link (expand-file-name "credentials" outside) (concat repo "/link"))
            (make-symbolic-link (expand-file-name "made-by-a-save" outside) (concat repo "/dangling"))
            (make-symbolic-link outside (concat repo "/dir"))
            (make-symbolic-link (concat repo "/README.md") (concat repo "/inner"))
            (dolist (path '("link" "dangling" "dir/credentials"))
              (dolist (open (list #'agent-bridge-visit #'agent-bridge-find-file))
                (let ((buffer (funcall open path)))
                  (with-current-buffer buffer
                    (should-not buffer-file-name)
                    (should buffer-read-only)
                    (agent-bridge-test--wait "the bridge's answer"
                                             (lambda () (not (string-match-p "asking the bridge" (buffer-string)))))
                    (should (string-match-p "leads out of the workspace" (buffer-string)))
                    (should-not (string-match-p "secret" (buffer-string)))
                    (ignore-errors (save-buffer)))
                  (kill-buffer buffer))))
            (dolist (buffer (buffer-list))
              (should-not (and (buffer-file-name buffer)
                               (string-prefix-p outside (file-truename (buffer-file-name buffer))))))
            (should-not (file-exists-p (expand-file-name "made-by-a-save" outside)))
            (should (equal (agent-bridge--file "inner" repo) (concat repo "/inner")))
            (let ((buffer (agent-bridge-visit "inner")))
              ;; (vc may visit the link's target: inside too.)
              (should (equal (file-truename (buffer-local-value 'buffer-file-name buffer))
                             (concat repo "/README.md")))
              (kill-buffer buffer)))
        (delete-directory outside t)))))

(ert-deftest agent-bridge-test-zip ()
  (skip-unless (agent-bridge-test--has "zipDirectory"))
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (let ((out (agent-bridge-test--temp-dir))
          (result nil))
      (unwind-protect
          (let ((target (expand-file-name "work.zip" out)))
            (agent-bridge-zip target (lambda (r) (setq result r)))
            (agent-bridge-test--wait "the zip" (lambda () result) 30)
            (let ((names (process-lines "unzip" "-Z1" target)))
              (should (equal (plist-get result :path) target))
              (should (equal (plist-get result :entries) (length names)))
              (should (member "src/app.el" names))
              (should (member "notes/new.md" names))
              (should-not (member "old.txt" names))))
        (delete-directory out t)))))

(ert-deftest agent-bridge-test-zip-destination-outside-the-workspace ()
  (let* ((workspace (agent-bridge-test--temp-dir))
         (parent (file-name-directory workspace)))
    (unwind-protect
        (progn
          (let ((agent-bridge-zip-directory workspace))
            (should (equal (agent-bridge--zip-directory workspace) parent)))
          (let ((agent-bridge-zip-directory (expand-file-name "sub" workspace)))
            (should (equal (agent-bridge--zip-directory workspace) parent)))
          (let ((agent-bridge-zip-directory temporary-file-directory))
            (should (equal (agent-bridge--zip-directory workspace)
                           (file-name-as-directory (expand-file-name temporary-file-directory)))))
          ;; Interactively the default is outside the workspace; a place
          ;; inside it must be confirmed.
          (let ((agent-bridge-workspace workspace)
                (agent-bridge-zip-directory workspace)
                (asked nil))
            (cl-letf (((symbol-function 'read-file-name)
                       (lambda (_prompt _dir default &rest _) default)))
              (should (equal (agent-bridge--read-zip-destination)
                             (expand-file-name (concat (file-name-nondirectory workspace) ".zip") parent))))
            (cl-letf (((symbol-function 'read-file-name)
                       (lambda (&rest _) (expand-file-name "in.zip" workspace)))
                      ((symbol-function 'yes-or-no-p) (lambda (prompt) (setq asked prompt) nil)))
              (should-error (agent-bridge--read-zip-destination) :type 'user-error)
              (should (string-match-p "inside the workspace" asked)))))
      (delete-directory workspace t))))

(ert-deftest agent-bridge-test-zip-progress-reporter ()
  (skip-unless (agent-bridge-test--has "zipDirectory"))
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-big-repo))
    (let ((out (agent-bridge-test--temp-dir))
          (result nil))
      (unwind-protect
          (let ((messages (agent-bridge-test--capturing-messages
                           (lambda ()
                             (agent-bridge-zip (expand-file-name "big.zip" out)
                                               (lambda (r) (setq result r)))
                             (agent-bridge-test--wait "the big zip" (lambda () result) 120)))))
            ;; The bridge sends counts, not percentages: they are what is shown.
            (should (cl-some (lambda (m)
                               (string-match-p "\\`agent-bridge: zipping the workspace\\.\\.\\. . [0-9]+ files, [0-9.]+ [KMG]?i?B\\'" m))
                             messages))
            (should (string-match-p "\\`agent-bridge: wrote [0-9]+ files" (car (last messages))))
            (should (= (hash-table-count agent-bridge--progress-handlers) 0)))
        (delete-directory out t)))))

(defun agent-bridge-test--stored-feedback (dir)
  (mapconcat (lambda (file)
               (with-temp-buffer (insert-file-contents file) (buffer-string)))
             (directory-files-recursively dir "")
             "\n"))

(ert-deftest agent-bridge-test-submit-feedback ()
  (skip-unless (agent-bridge-test--has "submitFeedback"))
  (let ((state (agent-bridge-test--temp-dir)))
    (unwind-protect
        (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo) (list "--state-dir" state))
          (let ((result nil))
            (agent-bridge-submit-feedback "negative" "it deleted old.txt" nil (lambda (r) (setq result r)))
            (agent-bridge-test--wait "the feedback reply" (lambda () result))
            (should (equal (plist-get result :statusCode) 200))
            (should (equal (plist-get (plist-get result :body) :message) "Feedback submitted")))
          (let ((stored (agent-bridge-test--stored-feedback state)))
            (should (string-match-p "\"polarity\":\"negative\"" stored))
            (should (string-match-p "it deleted old.txt" stored)))
          (should-error (agent-bridge-submit-feedback "sideways") :type 'user-error)
          ;; Interactively: completing-read then read-string.
          (cl-letf (((symbol-function 'completing-read) (lambda (&rest _) "positive"))
                    ((symbol-function 'read-string) (lambda (&rest _) "")))
            (call-interactively #'agent-bridge-submit-feedback))
          (agent-bridge-test--wait "the positive feedback stored"
                                   (lambda () (string-match-p "\"polarity\":\"positive\""
                                                              (agent-bridge-test--stored-feedback state)))))
      (delete-directory state t))))

;;; agent-bridge-tests.el ends here
