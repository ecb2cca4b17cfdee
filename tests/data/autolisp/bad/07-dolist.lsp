;; expect: common-lisp
(defun c:LAYS (/ names)
  (setq names '("A" "B" "C"))
  (dolist (n names)
    (command "_.-LAYER" "_M" n ""))
  (princ)
)
