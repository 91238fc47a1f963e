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
         (delete-directory ,var t)))))

(defmacro agent-bridge-test--should-fail-with (code &rest body)
  "Assert BODY signals `agent-bridge-error' with CODE; return the error."
  (declare (indent 1))
  `(let ((err (should-error (progn ,@body) :type 'agent-bridge-error)))
     (should (equal (agent-bridge-error-code err) ,code))
     err))

(defun agent-bridge-test--process (repo)
  (jsonrpc--process (gethash repo agent-bridge--connections)))

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

;;;; Commands

(ert-deftest agent-bridge-test-changes-buffer ()
  (skip-unless (agent-bridge-test--has "gitChanges" "gitDiff"))
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (let ((buffer (agent-bridge-changes)))
      (unwind-protect
          (with-current-buffer buffer
            (should (eq major-mode 'agent-bridge-changes-mode))
            (should (equal (mapcar #'car tabulated-list-entries)
                           '("notes/new.md" "old.txt" "src/app.el")))
            (should (equal (aref (cadr (assoc "old.txt" tabulated-list-entries)) 0) "D deleted"))
            (goto-char (point-min))
            (while (and (not (equal (tabulated-list-get-id) "src/app.el")) (not (eobp)))
              (forward-line 1))
            (should (equal (tabulated-list-get-id) "src/app.el"))
            (should (eq (key-binding (kbd "RET")) 'agent-bridge-changes-diff))
            (let ((diff (call-interactively #'agent-bridge-changes-diff)))
              (with-current-buffer diff
                (should (eq major-mode 'diff-mode))
                (let ((text (buffer-string)))
                  (should (string-match-p "^--- a/src/app.el$" text))
                  (should (string-match-p "^\\+\\+\\+ b/src/app.el$" text))
                  (should (string-match-p "^-two$" text))
                  (should (string-match-p "^\\+2$" text))
                  (should (string-match-p "^\\+four$" text))
                  (should-not (string-match-p "No newline" text))))
              (kill-buffer diff)))
        (kill-buffer buffer)))))

(ert-deftest agent-bridge-test-changes-clean-repo ()
  (skip-unless (agent-bridge-test--has "gitChanges"))
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (agent-bridge-test--git repo "add" "-A")
    (agent-bridge-test--git repo "commit" "-q" "-m" "all")
    (let ((buffer (agent-bridge-changes)))
      (should (null (buffer-local-value 'tabulated-list-entries buffer)))
      (kill-buffer buffer))))

(ert-deftest agent-bridge-test-diff-deleted-and-added ()
  (skip-unless (agent-bridge-test--has "gitDiff"))
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (let ((deleted (agent-bridge-diff "old.txt"))
          (added (agent-bridge-diff "notes/new.md")))
      (with-current-buffer deleted
        (should (string-match-p "^-to be deleted$" (buffer-string)))
        (should-not (string-match-p "^\\+" (replace-regexp-in-string "^\\+\\+\\+.*$" "" (buffer-string)))))
      (with-current-buffer added
        (should (string-match-p "^\\+fresh$" (buffer-string))))
      (kill-buffer deleted)
      (kill-buffer added))))

(ert-deftest agent-bridge-test-diff-not-a-repository ()
  (skip-unless (agent-bridge-test--has "gitDiff"))
  (agent-bridge-test--with-workspace (dir (agent-bridge-test--temp-dir))
    (agent-bridge-test--write (expand-file-name "a.txt" dir) "a\n")
    (let ((err (agent-bridge-test--should-fail-with -32016 (agent-bridge-diff "a.txt"))))
      (should (equal (plist-get (agent-bridge-error-data err) :httpStatus) 404)))))

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

(ert-deftest agent-bridge-test-zip ()
  (skip-unless (agent-bridge-test--has "zipDirectory"))
  (agent-bridge-test--with-workspace (repo (agent-bridge-test--make-repo))
    (let ((out (agent-bridge-test--temp-dir)))
      (unwind-protect
          (let* ((target (expand-file-name "work.zip" out))
                 (result (agent-bridge-zip target))
                 (names (process-lines "unzip" "-Z1" target)))
            (should (equal (plist-get result :path) target))
            (should (equal (plist-get result :entries) (length names)))
            (should (member "src/app.el" names))
            (should (member "notes/new.md" names))
            (should-not (member "old.txt" names)))
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
          (let ((result (agent-bridge-submit-feedback "negative" "it deleted old.txt")))
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
          (should (string-match-p "\"polarity\":\"positive\""
                                  (agent-bridge-test--stored-feedback state))))
      (delete-directory state t))))

;;; agent-bridge-tests.el ends here
